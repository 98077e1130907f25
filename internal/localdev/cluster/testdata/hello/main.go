// Command hello is the real node test's container: a static HTTP server that writes a
// known line to stdout when it starts and one per request, so that a test sees both its
// log file and its answer.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	message := flag.String("message", "hello", "the answer to every request")
	askAPIServer := flag.Bool("ask-apiserver", false, "read the apiserver's version through the kubernetes Service first, as an in-cluster client does")
	lookup := flag.String("lookup", "", "resolve this name first, as a client of the cluster's DNS does")
	flag.Parse()
	if *lookup != "" {
		var addrs []string
		var err error
		for range 30 {
			if addrs, err = net.LookupHost(*lookup); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			fmt.Printf("hello cannot resolve %s: %v\n", *lookup, err)
		} else {
			fmt.Printf("hello resolved %s: %s\n", *lookup, strings.Join(addrs, ","))
		}
	}
	if *askAPIServer {
		version, err := apiServerVersion()
		if err != nil {
			fmt.Printf("hello cannot reach the apiserver: %v\n", err)
		} else {
			fmt.Printf("hello reached the apiserver: %s\n", version)
		}
	}
	fmt.Printf("hello listening on %s\n", *addr)
	fmt.Fprintf(os.Stderr, "hello says %q\n", *message)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("hello served %s %s\n", r.Method, r.URL.Path)
		fmt.Fprintln(w, *message)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// apiServerVersion asks the apiserver at the kubernetes Service for its version with the
// pod's service-account token and CA, retrying while kube-proxy programs the Service.
func apiServerVersion() (string, error) {
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
	token, err := os.ReadFile(sa + "token")
	if err != nil {
		return "", err
	}
	ca, err := os.ReadFile(sa + "ca.crt")
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	url := "https://" + net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")) + "/version"
	var last error
	for range 30 {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := client.Do(req)
		if err == nil {
			var v struct {
				GitVersion string `json:"gitVersion"`
			}
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return v.GitVersion, nil
			}
			if err == nil {
				err = fmt.Errorf("%s answers %s", url, resp.Status)
			}
		}
		last = err
		time.Sleep(time.Second)
	}
	return "", last
}
