// Build-only module (standard library only): tlsimpostor is a TLS server that presents a given
// certificate while signing its handshake with another key, the man in the middle that holds a
// Coordinator's public certificate but not its private key (tests/atls/key_possession_test.ts).
module contrast.local/tools/tlsimpostor

go 1.22
