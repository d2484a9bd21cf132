"""Personas an application switches between: templates with parameters (the tutor), the
interpreter's language pairs, and the ``name`` / ``template:k=v`` specs the bots and the main job
accept."""
