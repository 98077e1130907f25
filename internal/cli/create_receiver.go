package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

type createReceiverFlags struct {
	typ, secretRef string
	events         []string
	resources      []string
}

// receiverTypes are the receiver types Flux's notification API defines.
var receiverTypes = []string{
	notificationv1.GenericReceiver, notificationv1.GenericHMACReceiver, notificationv1.GitHubReceiver,
	notificationv1.GitLabReceiver, notificationv1.BitbucketReceiver, notificationv1.HarborReceiver,
	notificationv1.DockerHubReceiver, notificationv1.QuayReceiver, notificationv1.GCRReceiver,
	notificationv1.NexusReceiver, notificationv1.ACRReceiver, notificationv1.CDEventsReceiver,
}

func newCreateReceiverCommand(s streams, cf *createFlags) *cobra.Command {
	f := &createReceiverFlags{}
	cmd := &cobra.Command{
		Use:   "receiver NAME",
		Short: "Create or update a webhook Receiver",
		Long: `Creates or updates a Receiver: a webhook that, called with a valid signature, asks the
named objects to reconcile now. --resource is Kind/NAME and may repeat; --event filters
the provider's events (GitHub: push, ping...). The Secret named by --secret-ref holds the
token under the key "token".

  tugboat create receiver github --type=github --event=push --secret-ref=webhook-token \
    --resource=GitRepository/podinfo`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			obj, err := f.object(s, args[0])
			if err != nil {
				return err
			}
			last, err := createObject(cmd.Context(), s, cf, receiverKind, obj)
			if err != nil || last == nil {
				return err
			}
			newProgress(s, false).success("webhook path: %s", last.(*notificationv1.Receiver).Status.WebhookPath)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.typ, "type", "", "provider: "+strings.Join(receiverTypes, ", "))
	fl.StringSliceVar(&f.events, "event", nil, "provider events that trigger a reconcile (may repeat)")
	fl.StringSliceVar(&f.resources, "resource", nil, "object to reconcile, Kind/NAME[.NAMESPACE] (may repeat)")
	fl.StringVar(&f.secretRef, "secret-ref", "", "name of the Secret holding the webhook token")
	return cmd
}

func (f *createReceiverFlags) object(s streams, name string) (*notificationv1.Receiver, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if !slices.Contains(receiverTypes, f.typ) {
		return nil, usageErrorf("--type must be one of %s, not %q", strings.Join(receiverTypes, ", "), f.typ)
	}
	if f.secretRef == "" {
		return nil, usageErrorf("--secret-ref is required: the Secret holding the webhook token")
	}
	if len(f.resources) == 0 {
		return nil, usageErrorf("--resource is required: at least one Kind/NAME to reconcile")
	}
	ns, err := s.kube.namespace()
	if err != nil {
		return nil, err
	}
	obj := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: notificationv1.ReceiverSpec{
			Type:      f.typ,
			Events:    f.events,
			SecretRef: meta.LocalObjectReference{Name: f.secretRef},
		},
	}
	for _, r := range f.resources {
		k, n, ok := strings.Cut(r, "/")
		if !ok || k == "" || n == "" {
			return nil, usageErrorf("--resource %q must be Kind/NAME", r)
		}
		kd, known := kindByName(k)
		if !known || kd == receiverKind {
			return nil, usageErrorf("--resource %q: the kind must be GitRepository or Kustomization, not %q", r, k)
		}
		ref := notificationv1.CrossNamespaceObjectReference{Kind: kd.Kind, Name: n}
		if nn, nns, ok := strings.Cut(n, "."); ok {
			ref.Name, ref.Namespace = nn, nns
		}
		obj.Spec.Resources = append(obj.Spec.Resources, ref)
	}
	return obj, nil
}
