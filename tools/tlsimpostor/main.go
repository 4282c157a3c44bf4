// tlsimpostor serves HTTPS on 127.0.0.1 with the certificate of a PEM file, signing the TLS
// handshake with the matching key from a second PEM file ("own" mode) or with a fresh P-256 key
// that does not match the certificate ("other" mode: it holds the certificate but not its key).
// Every request is answered 200 with "{}". It prints the address it listens on, then serves
// until stdin closes. TLS 1.3 and 1.2 are offered up to -max (13 or 12).
//
// With -connect HOST:PORT it is a client instead: it presents the certificate as its client
// certificate the same way (own or other key), POSTs -body (JSON) to -path, prints "STATUS <code>"
// or "ERROR <reason>" and exits: the caller without the key of the certificate it holds
// (tests/coordinator/transit/client_key_possession_test.ts).
//
// Go's tls.Certificate accepts any crypto.Signer next to any certificate; rustls and OpenSSL
// servers refuse a key that does not match, so this is the one server here that can play it.
package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func readPem(path string) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		panic("no PEM block in " + path)
	}
	return block.Bytes
}

func main() {
	certPath := flag.String("cert", "", "certificate PEM")
	keyPath := flag.String("key", "", "PKCS#8 private key PEM (own mode)")
	mode := flag.String("mode", "other", "own | other")
	max := flag.Int("max", 13, "highest TLS version: 13 or 12")
	connect := flag.String("connect", "", "client mode: HOST:PORT to connect to")
	path := flag.String("path", "/", "client mode: path to POST to")
	body := flag.String("body", "{}", "client mode: JSON body")
	flag.Parse()
	var signer crypto.Signer
	if *mode == "own" {
		key, err := x509.ParsePKCS8PrivateKey(readPem(*keyPath))
		if err != nil {
			panic(err)
		}
		signer = key.(crypto.Signer)
	} else {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		signer = key
	}
	version := uint16(tls.VersionTLS13)
	if *max == 12 {
		version = tls.VersionTLS12
	}
	if *connect != "" {
		client(*connect, *path, *body, readPem(*certPath), signer, version)
		return
	}
	config := &tls.Config{
		MaxVersion:   version,
		Certificates: []tls.Certificate{{Certificate: [][]byte{readPem(*certPath)}, PrivateKey: signer}},
	}
	listener, err := tls.Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		panic(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	_ = http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
}

// client presents cert (signing with signer) to the HTTPS server at addr and prints the answer's
// status, or the error that ended the exchange. The server's own certificate is not checked.
func client(addr, path, body string, cert []byte, signer crypto.Signer, version uint16) {
	config := &tls.Config{
		InsecureSkipVerify: true,
		MaxVersion:         version,
		// Offered whatever CAs the server names (a Certificates list would be filtered by them).
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{cert}, PrivateKey: signer}, nil
		},
	}
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: config}}
	response, err := httpClient.Post("https://"+addr+path, "application/json", bytes.NewBufferString(body))
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	_, _ = io.Copy(io.Discard, response.Body)
	_ = response.Body.Close()
	fmt.Println("STATUS", response.StatusCode)
}
