"""The course as a static website: `make site` (see website/build.py)."""
