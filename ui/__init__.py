"""The Qt wizard: thin pages over the engine in app/."""
