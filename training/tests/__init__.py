"""Tests of the training code that need no torch (numpy and Pillow only), run by `make test`
through scripts/training-tests.sh: CI never trains, but it checks what training is built on."""
