"""Deploy to AudioCodes OVOC over SSH: files into server_certs, then EmsServerManager's import."""
