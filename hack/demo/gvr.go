package main

import "k8s.io/apimachinery/pkg/runtime/schema"

var appsDeployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
