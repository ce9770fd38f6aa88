"""The single source of ec2asr's version number."""

__version__ = "0.1.0.dev0"
