"""Audio conversion for the phone and wideband paths (resamplers)."""
