#!/bin/sh
# keepalived's health check for cluster ${CLUSTER}, written by hatui's wizard.
# Taken from kubeadm's HA guide: kubernetes/kubeadm docs/ha-considerations.md,
# "keepalived configuration" (commit 0afcc432942eacebcf4983f461d93c5d7e35049b).

errorExit() {
    echo "*** $*" 1>&2
    exit 1
}

curl --silent --max-time 2 --insecure https://localhost:${APISERVER_DEST_PORT}/ -o /dev/null || errorExit "Error GET https://localhost:${APISERVER_DEST_PORT}/"
if ip addr | grep -q ${APISERVER_VIP}; then
    curl --silent --max-time 2 --insecure https://${APISERVER_VIP}:${APISERVER_DEST_PORT}/ -o /dev/null || errorExit "Error GET https://${APISERVER_VIP}:${APISERVER_DEST_PORT}/"
fi
