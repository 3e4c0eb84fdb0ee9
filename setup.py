"""Only the package list lives here; everything else is in pyproject.toml.

kernels/ is installed as rnnviz.kernels and benchmarks/ as rnnviz.results (see the
package-dir mapping in pyproject.toml), so their subpackages are found under those names.
"""
from setuptools import find_packages, setup

packages = find_packages(include=["rnnviz", "rnnviz.*"])
packages += ["rnnviz.kernels"] + ["rnnviz.kernels." + p for p in find_packages("kernels")]
packages += ["rnnviz.results"]
setup(packages=packages)
