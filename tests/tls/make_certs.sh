#!/bin/sh
# Writes the test certificates of tests/test_remote.c (tls case) into
# this folder: a CA, a server certificate for localhost and 127.0.0.1
# signed by it, a client certificate signed by it, and a second CA that
# signed neither. Test material only: the keys are public. Valid for 100
# years. Run again to renew: sh tests/tls/make_certs.sh
set -e
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }
key "$t/ca.key"
openssl req -x509 -new -key "$t/ca.key" -days 36500 -subj "/CN=syn test CA" -out ca.pem
key "$t/other.key"
openssl req -x509 -new -key "$t/other.key" -days 36500 -subj "/CN=syn other CA" -out other_ca.pem
for who in server client; do
	key "$t/$who.key"
	openssl req -new -key "$t/$who.key" -subj "/CN=localhost" -out "$t/$who.csr"
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$t/ext"
	openssl x509 -req -in "$t/$who.csr" -CA ca.pem -CAkey "$t/ca.key" \
		-CAcreateserial -CAserial "$t/serial" -days 36500 \
		-extfile "$t/ext" -out "$t/$who.crt"
	cat "$t/$who.crt" "$t/$who.key" > "$who.pem"
done
