"""Measurement tools for `python -m deepviz bench|loadtest|handwriting`, never imported by the app."""
