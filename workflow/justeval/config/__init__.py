"""Parse time only: the config's checks, the model and benchmark specs, the Plan,
every rule's params and the code versions in them."""
