"""The upload page served at `/`: plain HTML, CSS and JavaScript, nothing from another origin."""
