"""ipywidgets apps (the speed lab): figures plus controls that run new computation."""
