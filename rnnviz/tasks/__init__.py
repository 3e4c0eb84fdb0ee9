"""Small learning tasks for the course: selective copying, a character-level language model."""
