"""Install autonas: ``pip install -e .[test]`` for development."""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="autonas",
    version="0.1.0",
    description="Neural architecture search for Keras: network morphism guided by Bayesian optimization",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["autonas", "autonas.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "keras-tuner>=1.4",
        "tensorboard",  # keras-tuner's tuners import it; TensorFlow >= 2.21 no longer installs it
        "numpy>=1.26",
        "scikit-learn>=1.3",
        "networkx>=3",
        "scipy>=1.10",
        "pillow>=9",  # decoding image files (fit on a folder, autonas predict)
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6", "matplotlib>=3.7"],
        "plot": ["matplotlib>=3.7"],
        "nvml": ["nvidia-ml-py"],
        "docs": ["mkdocs>=1.5,<2", "mkdocs-material>=9,<10", "mkdocstrings[python]>=0.25,<2", "mkdocstrings-python>=1.10,<3"],
        "ray": ["ray[default]>=2.9"],
        # Deployment files and their runtimes (autonas.deploy; tested with tensorflow 2.21, keras 3.15.1,
        # tf2onnx 1.17.0, onnx 1.23.2, onnxruntime 1.32.0, ai-edge-litert 2.3.0).
        "deploy": ["tf2onnx>=1.17", "onnx>=1.16", "onnxruntime>=1.17", "ai-edge-litert>=1.2"],
        # Other Keras backends (choose with KERAS_BACKEND; TensorFlow stays installed as the default).
        "jax": ["jax>=0.4.30"],
        "torch": ["torch>=2.1"],
        # Attacks that measure adversarial robustness (Objective(robustness=...)): ART's FGSM and PGD.
        "robust": ["adversarial-robustness-toolbox>=1.17"],
    },
    entry_points={"console_scripts": ["autonas=autonas.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
