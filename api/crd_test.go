package api_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// crds are the committed CRDs, with what the Go packages say about them.
var crds = map[string]struct {
	file     string
	group    string
	kind     string
	versions []string
}{
	"GitRepository": {"source.toolkit.fluxcd.io_gitrepositories.yaml", sourcev1.GroupVersion.Group, sourcev1.GitRepositoryKind, sourcev1.ServedVersions},
	"Kustomization": {"kustomize.toolkit.fluxcd.io_kustomizations.yaml", kustomizev1.GroupVersion.Group, kustomizev1.KustomizationKind, kustomizev1.ServedVersions},
	"Receiver":      {"notification.toolkit.fluxcd.io_receivers.yaml", notificationv1.GroupVersion.Group, notificationv1.ReceiverKind, notificationv1.ServedVersions},
}

// TestCRDsServeEveryVersionWithOneSchema checks the promise that lets old
// Flux manifests apply: v1, v1beta2 and v1beta1 are all served, only v1 is
// stored, and every version has exactly the v1 schema, columns and
// subresources, so conversion None loses nothing.
func TestCRDsServeEveryVersionWithOneSchema(t *testing.T) {
	for name, c := range crds {
		t.Run(name, func(t *testing.T) {
			crd := readCRD(t, c.file)
			if crd.Spec.Group != c.group || crd.Spec.Names.Kind != c.kind {
				t.Fatalf("got %s %s, want %s %s", crd.Spec.Group, crd.Spec.Names.Kind, c.group, c.kind)
			}
			if s := crd.Spec.Conversion; s != nil && s.Strategy != apiextensionsv1.NoneConverter {
				t.Errorf("got conversion strategy %q, want None", s.Strategy)
			}
			var names, stored []string
			for _, v := range crd.Spec.Versions {
				names = append(names, v.Name)
				if v.Storage {
					stored = append(stored, v.Name)
				}
				if !v.Served {
					t.Errorf("version %s is not served", v.Name)
				}
				if wantDeprecated := v.Name != "v1"; v.Deprecated != wantDeprecated {
					t.Errorf("version %s: got deprecated %v, want %v", v.Name, v.Deprecated, wantDeprecated)
				}
				if v.Deprecated && (v.DeprecationWarning == nil || !strings.Contains(*v.DeprecationWarning, "upgrade to v1")) {
					t.Errorf("version %s: want a deprecation warning that names v1", v.Name)
				}
			}
			if !slices.Equal(names, c.versions) {
				t.Errorf("got versions %v, want %v", names, c.versions)
			}
			if !slices.Equal(stored, []string{"v1"}) {
				t.Errorf("got storage versions %v, want exactly [v1]", stored)
			}
			first := crd.Spec.Versions[0]
			if first.Schema == nil || first.Schema.OpenAPIV3Schema == nil {
				t.Fatalf("version %s has no schema", first.Name)
			}
			for _, v := range crd.Spec.Versions[1:] {
				if !reflect.DeepEqual(v.Schema, first.Schema) {
					t.Errorf("version %s: schema differs from %s", v.Name, first.Name)
				}
				if !reflect.DeepEqual(v.AdditionalPrinterColumns, first.AdditionalPrinterColumns) {
					t.Errorf("version %s: printer columns differ from %s", v.Name, first.Name)
				}
				if !reflect.DeepEqual(v.Subresources, first.Subresources) || v.Subresources == nil || v.Subresources.Status == nil {
					t.Errorf("version %s: want the status subresource, as %s has", v.Name, first.Name)
				}
			}
		})
	}
}

// TestCRDsPassAPIServerValidation runs the API server's own CRD validation,
// so that a CRD it would refuse (a non-structural schema, a default that does
// not validate, a CEL rule over its cost budget) fails here and not on
// install.
func TestCRDsPassAPIServerValidation(t *testing.T) {
	for name, c := range crds {
		t.Run(name, func(t *testing.T) {
			crd := readCRD(t, c.file)
			apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
			internal := &apiextensions.CustomResourceDefinition{}
			if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, internal, nil); err != nil {
				t.Fatalf("failed to convert the CRD: %v", err)
			}
			if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
				t.Errorf("the API server would refuse the CRD: %v", errs.ToAggregate())
			}
		})
	}
}

// TestCRDKustomizationListsEveryCRD keeps config/crd/kustomization.yaml and
// the bases folder in step.
func TestCRDKustomizationListsEveryCRD(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(crdDir, "..", "kustomization.yaml"))
	if err != nil {
		t.Fatalf("failed to read kustomization.yaml: %v", err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatalf("failed to decode kustomization.yaml: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, "bases/"+filepath.Base(f))
	}
	if !slices.Equal(k.Resources, want) {
		t.Errorf("got resources %v, want %v", k.Resources, want)
	}
	if len(want) != len(crds) {
		t.Errorf("got %d CRDs in %s, want %d", len(want), crdDir, len(crds))
	}
}

// TestCRDSchemaShape pins the two schema decisions the seed depends on.
func TestCRDSchemaShape(t *testing.T) {
	spec := func(t *testing.T, kind string) apiextensionsv1.JSONSchemaProps {
		crd := readCRD(t, crds[kind].file)
		return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	}

	t.Run("GitRepository spec has the deprecated branch field", func(t *testing.T) {
		s := spec(t, "GitRepository")
		if p, ok := s.Properties["branch"]; !ok || p.Type != "string" {
			t.Errorf("want spec.branch of type string, got %+v (present %v)", p, ok)
		}
		if slices.Contains(s.Required, "branch") {
			t.Error("spec.branch must be optional")
		}
	})
	t.Run("Kustomization spec interval is optional with a 10m default", func(t *testing.T) {
		s := spec(t, "Kustomization")
		if slices.Contains(s.Required, "interval") {
			t.Errorf("spec.interval is required: %v", s.Required)
		}
		p, ok := s.Properties["interval"]
		if !ok || p.Default == nil {
			t.Fatalf("want spec.interval with a default, got %+v", p)
		}
		var def string
		if err := yaml.Unmarshal(p.Default.Raw, &def); err != nil {
			t.Fatalf("failed to read the default: %v", err)
		}
		// The Go fallback must agree with the schema default, or objects
		// read from files would reconcile at another pace than applied ones.
		if d, err := time.ParseDuration(def); err != nil || d != kustomizev1.DefaultInterval {
			t.Errorf("got default %q, want %v (kustomizev1.DefaultInterval)", def, kustomizev1.DefaultInterval)
		}
		for _, f := range []string{"sourceRef", "prune"} {
			if !slices.Contains(s.Required, f) {
				t.Errorf("want spec.%s required as in Flux, required is %v", f, s.Required)
			}
		}
	})
}

// TestCRDAdmission runs manifests through what the API server does to a
// custom resource on create under kubectl's default strict field validation:
// reject unknown fields, apply defaults, validate the OpenAPI schema and the
// CEL rules. It stands in for `kubectl apply` without a cluster.
func TestCRDAdmission(t *testing.T) {
	seed := readDocs(t, seedFile)
	cases := map[string]struct {
		kind    string
		doc     string
		wantErr string // empty when the manifest must be accepted
		check   func(t *testing.T, obj map[string]any)
	}{
		"the seed GitRepository with spec.branch is accepted": {
			kind: "GitRepository", doc: string(seed[0]),
			check: func(t *testing.T, obj map[string]any) {
				if got := get(obj, "spec", "branch"); got != "main" {
					t.Errorf("spec.branch was pruned or changed: %v", got)
				}
				if got := get(obj, "spec", "timeout"); got != "60s" {
					t.Errorf("spec.timeout: got %v, want the 60s default", got)
				}
				if got := get(obj, "spec", "ref"); got != nil {
					t.Errorf("spec.ref must not be defaulted beside spec.branch, got %v", got)
				}
			},
		},
		"the seed Kustomization without interval is accepted and defaulted": {
			kind: "Kustomization", doc: string(seed[1]),
			check: func(t *testing.T, obj map[string]any) {
				if got := get(obj, "spec", "interval"); got != "10m" {
					t.Errorf("spec.interval: got %v, want the 10m default", got)
				}
			},
		},
		"a GitRepository with an scp-like URL is rejected": {
			kind:    "GitRepository",
			doc:     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: x}\nspec: {interval: 1m, url: 'git@github.com:contoso/x.git'}\n",
			wantErr: "spec.url",
		},
		"a GitRepository whose spec.branch contradicts spec.ref.branch is rejected": {
			kind:    "GitRepository",
			doc:     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: x}\nspec: {interval: 1m, url: 'https://x/y', branch: main, ref: {branch: dev}}\n",
			wantErr: "spec.branch is deprecated",
		},
		"a GitRepository whose spec.branch equals spec.ref.branch is accepted": {
			kind: "GitRepository",
			doc:  "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: x}\nspec: {interval: 1m, url: 'https://x/y', branch: main, ref: {branch: main}}\n",
		},
		"a GitRepository without interval is rejected": {
			kind:    "GitRepository",
			doc:     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: x}\nspec: {url: 'https://x/y'}\n",
			wantErr: "spec.interval",
		},
		"a v1beta1 GitRepository with gitImplementation and accessFrom is accepted": {
			kind: "GitRepository",
			doc:  "apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: GitRepository\nmetadata: {name: x}\nspec: {interval: 1m, url: 'ssh://git@x/y', gitImplementation: libgit2, accessFrom: {namespaceSelectors: [{matchLabels: {a: b}}]}, ref: {tag: v1}}\n",
		},
		"a field no version knows is rejected": {
			kind:    "GitRepository",
			doc:     "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: x}\nspec: {interval: 1m, url: 'https://x/y', brnach: main}\n",
			wantErr: "spec.brnach",
		},
		"a v1beta1 Kustomization with the patch forms dropped in v1 is accepted": {
			kind: "Kustomization",
			doc: `apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata: {name: x}
spec:
  interval: 5m
  prune: false
  validation: client
  sourceRef: {kind: GitRepository, name: src}
  patchesStrategicMerge:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 2}}
  patchesJson6902:
  - target: {group: apps, version: v1, kind: Deployment, name: d}
    patch: [{op: replace, path: /spec/replicas, value: 3}]
  postBuild:
    substitute: {cluster: prod}
    substituteFrom: [{kind: ConfigMap, name: vars, optional: true}]
`,
			check: func(t *testing.T, obj map[string]any) {
				if get(obj, "spec", "patchesStrategicMerge") == nil {
					t.Error("patchesStrategicMerge was pruned")
				}
			},
		},
		"a Kustomization without prune is rejected": {
			kind:    "Kustomization",
			doc:     "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\nspec: {sourceRef: {kind: GitRepository, name: src}}\n",
			wantErr: "spec.prune",
		},
		"a Kustomization with a bad interval is rejected": {
			kind:    "Kustomization",
			doc:     "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: x}\nspec: {interval: 10 minutes, prune: true, sourceRef: {kind: GitRepository, name: src}}\n",
			wantErr: "spec.interval",
		},
		"a github Receiver is accepted and its interval defaulted": {
			kind: "Receiver",
			doc:  "apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata: {name: x}\nspec: {type: github, events: [push], secretRef: {name: s}, resources: [{kind: GitRepository, name: aks-config}]}\n",
			check: func(t *testing.T, obj map[string]any) {
				if got := get(obj, "spec", "interval"); got != "10m" {
					t.Errorf("spec.interval: got %v, want the 10m default", got)
				}
			},
		},
		"a Receiver of an unknown type is rejected": {
			kind:    "Receiver",
			doc:     "apiVersion: notification.toolkit.fluxcd.io/v1beta1\nkind: Receiver\nmetadata: {name: x}\nspec: {type: gitea, secretRef: {name: s}, resources: [{kind: GitRepository, name: src}]}\n",
			wantErr: "spec.type",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			crd := readCRD(t, crds[c.kind].file)
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(c.doc), &obj); err != nil {
				t.Fatalf("failed to decode the manifest: %v", err)
			}
			errs := admit(t, crd, obj)
			switch {
			case c.wantErr == "" && len(errs) > 0:
				t.Fatalf("want the manifest accepted, got %v", errs)
			case c.wantErr != "" && len(errs) == 0:
				t.Fatalf("want an error about %q, the manifest was accepted", c.wantErr)
			case c.wantErr != "" && !strings.Contains(errs.ToAggregate().Error(), c.wantErr):
				t.Fatalf("want an error about %q, got %v", c.wantErr, errs)
			}
			if c.check != nil {
				c.check(t, obj)
			}
		})
	}
}

// admit does to obj what the API server does on create of a custom resource
// in the version obj names: unknown fields are errors (strict field
// validation), then defaults are applied, then the OpenAPI schema and the
// CEL rules are checked. obj is defaulted in place.
func admit(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition, obj map[string]any) field.ErrorList {
	t.Helper()
	apiVersion, _ := obj["apiVersion"].(string)
	var v1schema *apiextensionsv1.JSONSchemaProps
	for _, v := range crd.Spec.Versions {
		if crd.Spec.Group+"/"+v.Name == apiVersion {
			v1schema = v.Schema.OpenAPIV3Schema
		}
	}
	if v1schema == nil {
		t.Fatalf("the CRD does not serve %s", apiVersion)
	}
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1schema, internal, nil); err != nil {
		t.Fatalf("failed to convert the schema: %v", err)
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		t.Fatalf("the schema is not structural: %v", err)
	}

	var errs field.ErrorList
	unknown := pruning.PruneWithOptions(obj, structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		errs = append(errs, field.Invalid(field.NewPath(path), nil, "unknown field"))
	}
	defaulting.Default(obj, structural)

	validator, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		t.Fatalf("failed to build the schema validator: %v", err)
	}
	errs = append(errs, validation.ValidateCustomResource(nil, obj, validator)...)

	celErrs, _ := cel.NewValidator(structural, true, celconfig.PerCallLimit).
		Validate(context.Background(), nil, structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// get reads a nested field of an untyped object, or nil.
func get(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}
