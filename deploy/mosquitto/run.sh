#!/bin/sh
# The compose broker (docker-compose.yml, service `mosquitto`): runs mosquitto and reloads it (SIGHUP) whenever
# LoaXa rewrites the devices' password file. The api and scheduler containers rewrite it after every device
# registration, disable or new secret (LOAXA_MQTT_CONFIG_DIR) but cannot signal a process in this container.
# mosquitto 2 re-checks connected clients on reload: a disabled device or an old secret is cut off within seconds.
set -u
bin=${MOSQUITTO_BIN:-mosquitto}
conf=${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}
watched=${MOSQUITTO_WATCH:-/mosquitto/config/generated/passwd}
interval=${MOSQUITTO_WATCH_INTERVAL:-1}

"$bin" -c "$conf" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT

# LoaXa replaces the file (write, then rename): a new inode, whatever the clock says.
stamp() { stat -c '%i %Y' "$watched" 2>/dev/null || echo missing; }

seen=$(stamp)
while kill -0 "$pid" 2>/dev/null; do
    sleep "$interval" &
    wait $!
    now=$(stamp)
    if [ "$now" != "$seen" ]; then
        seen=$now
        kill -HUP "$pid" 2>/dev/null
    fi
done
wait "$pid"
