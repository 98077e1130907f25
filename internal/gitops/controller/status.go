package controller

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
)

// readyCondition returns obj's Ready condition, or nil.
func readyCondition(obj meta.ObjectWithConditions) *metav1.Condition {
	return apimeta.FindStatusCondition(obj.GetConditions(), meta.ReadyCondition)
}
