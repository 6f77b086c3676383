"""`python -m chalicelib.deploy deploy|destroy`, what `make deploy` and `make destroy` run."""

from chalicelib.deploy.main import main

main()
