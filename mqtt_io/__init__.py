"""Transport tuning shared by the server's MQTT gateway and the device simulator: a buffered paho client
(one recv per arrival, one send per write pass) and garbage-collector settling for long-lived fleets.

Neutral ground: it imports paho and the standard library only, never the server or the simulator, so the
simulator can use it and still behave like a foreign device.
"""
