package collect

import (
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// statsSummary is the part of the kubelet's /stats/summary that the Perf table needs.
// The full types live in k8s.io/kubelet/pkg/apis/stats/v1alpha1; that module is not
// otherwise a dependency, and these six fields are the stable JSON of its v1alpha1 API.
type statsSummary struct {
	Node struct {
		Memory *statsMemory `json:"memory"`
	} `json:"node"`
	Pods []struct {
		PodRef struct {
			Name      string    `json:"name"`
			Namespace string    `json:"namespace"`
			UID       types.UID `json:"uid"`
		} `json:"podRef"`
		Containers []struct {
			Name   string       `json:"name"`
			Memory *statsMemory `json:"memory"`
		} `json:"containers"`
	} `json:"pods"`
}

type statsMemory struct {
	Time     time.Time `json:"time"`
	RSSBytes *uint64   `json:"rssBytes"`
}

// SummaryPerf returns the Perf rows that only /stats/summary has: memoryRssBytes of
// each container and of the node (CPU and working set come from /metrics/resource).
func SummaryPerf(clusterID, node string, at time.Time, body []byte) ([][]any, error) {
	var s statsSummary
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("failed to parse the stats summary of node %s: %w", node, err)
	}
	when := func(m *statsMemory) time.Time {
		if m.Time.IsZero() {
			return at
		}
		return m.Time.UTC()
	}
	var rows [][]any
	for _, p := range s.Pods {
		for _, c := range p.Containers {
			if c.Memory == nil || c.Memory.RSSBytes == nil {
				continue
			}
			inst := clusterID + "/" + string(p.PodRef.UID) + "/" + c.Name
			rows = append(rows, perfRow(when(c.Memory), node, ObjectContainer, CounterMemoryRss, float64(*c.Memory.RSSBytes), inst))
		}
	}
	if m := s.Node.Memory; m != nil && m.RSSBytes != nil {
		rows = append(rows, perfRow(when(m), node, ObjectNode, CounterMemoryRss, float64(*m.RSSBytes), clusterID+"/"+node))
	}
	return rows, nil
}
