"""The Gradescope front end: the bundle (setup.sh, run_autograder) and its entry point."""
