"""Know the estate: the inventory of devices and OVOC servers and what each one serves."""
