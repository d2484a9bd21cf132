"""Audio plumbing shared by every path: sample rates and resamplers."""
