#!/bin/sh
# keepalived's health check for cluster ${CLUSTER}, written by hatui's wizard.
# Taken from kubeadm's HA guide: kubernetes/kubeadm docs/ha-considerations.md,
# "keepalived configuration", as updated in May 2024 (kubeadm PR #3060; read at commit
# 25ccfcf156896ecf94666093daa72048847cc1e4): /healthz through this host's HAProxy, a
# failure being any answer but 2xx (-f).

errorExit() {
    echo "*** $*" 1>&2
    exit 1
}

curl -sfk --max-time 2 https://localhost:${APISERVER_DEST_PORT}/healthz -o /dev/null || errorExit "Error GET https://localhost:${APISERVER_DEST_PORT}/healthz"
