"""Adapters behind the services' ports that are not the database, the MQTT client or the web: password hashing and
tokens, the audio library, outbound HTTP fetching and its address policy, metrics, background jobs, proxies, and
the broker's account files (broker_sync)."""
