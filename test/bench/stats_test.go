package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// inTurn runs pair p's two measures, the floor first in even pairs and second in odd
// ones. The VM's speed drifts while a pair runs (the same floor's CPU time moves from
// one pair to the next); taking turns keeps a drift in one direction from always
// landing on the same measure, and shows whether going second costs anything.
func inTurn(p int, floor, other func() error) error {
	first, second := floor, other
	if p%2 == 1 {
		first, second = other, floor
	}
	if err := first(); err != nil {
		return err
	}
	return second()
}

// firstIn names the measure that runs first in pair p (see inTurn).
func firstIn(p int, other string) string {
	if p%2 == 1 {
		return other
	}
	return "floor"
}

// median is the middle value of xs (the mean of the two middle ones for an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// disturbed flags a measure during which more than 3 % of the busy CPU time (and
// more than a second) went to no process of it: an undisturbed measure leaves about a
// second outside. Such a pair's wall time says nothing about tugboat; it is
// void, and the flag says so in the pair's line.
func disturbed(outside time.Duration, used processCPU, which string) string {
	if outside <= time.Second || outside <= used.total()*3/100 {
		return ""
	}
	return fmt.Sprintf("; DISTURBED: %.1f CPU-s busy outside the %s measure, void", outside.Seconds(), which)
}

// yardstick is the CPU time a measure's kube-scheduler and kwok used. Their work is
// the same in every measure of one N, whoever applies the apps: schedule N pods, run
// them, report them ready. So the time it took says how fast the VM ran during that
// measure, which moves by 10–25 % from minute to minute.
func yardstick(used processCPU) time.Duration {
	return used["kube-scheduler"] + used["kwok"]
}

// sameSpeed is a pair's ratio to the floor as it would read had both measures run at
// the floor's speed: the wall time of a measure that saturates the cores follows the
// CPU its work takes, so the ratio is divided by how much longer the yardstick took in
// the other measure than in the floor. It is 0 when a yardstick is missing.
func sameSpeed(ratio float64, floor, other processCPU) float64 {
	f, o := yardstick(floor), yardstick(other)
	if f <= 0 || o <= 0 {
		return 0
	}
	return ratio * float64(f) / float64(o)
}

func TestSameSpeed(t *testing.T) {
	floor := processCPU{"kube-scheduler": 4 * time.Second, "kwok": 3300 * time.Millisecond, "kube-apiserver": 66 * time.Second}
	for name, c := range map[string]struct {
		ratio float64
		other processCPU
		want  float64
	}{
		"a measure on a faster VM reads higher": {0.977, processCPU{"kube-scheduler": 3300 * time.Millisecond, "kwok": 2800 * time.Millisecond}, 0.977 * 7.3 / 6.1},
		"a measure on a slower VM reads lower":  {1.328, processCPU{"kube-scheduler": 4100 * time.Millisecond, "kwok": 3400 * time.Millisecond}, 1.328 * 7.3 / 7.5},
		"the same speed leaves the ratio":       {1.2, processCPU{"kube-scheduler": 4 * time.Second, "kwok": 3300 * time.Millisecond, "controller": 9 * time.Second}, 1.2},
		"no yardstick gives zero":               {1.2, processCPU{"controller": 9 * time.Second}, 0},
	} {
		if got := sameSpeed(c.ratio, floor, c.other); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: sameSpeed = %v, want %v", name, got, c.want)
		}
	}
}

func TestDisturbed(t *testing.T) {
	floor := processCPU{"kube-apiserver": 96800 * time.Millisecond, "kube-controller-manager": 29600 * time.Millisecond, "etcd": 30200 * time.Millisecond}
	small := processCPU{"kube-apiserver": 6 * time.Second, "etcd": 4 * time.Second}
	for name, c := range map[string]struct {
		outside time.Duration
		used    processCPU
		flagged bool
	}{
		"a compile beside the floor":       {57 * time.Second, floor, true},
		"an undisturbed measure at N=1000": {1200 * time.Millisecond, floor, false},
		"just under 3 % at N=1000":         {4600 * time.Millisecond, floor, false},
		"a second at N=100 is noise":       {900 * time.Millisecond, small, false},
		"two seconds at N=100 are not":     {2 * time.Second, small, true},
	} {
		got := disturbed(c.outside, c.used, "floor")
		if (got != "") != c.flagged {
			t.Errorf("%s: disturbed = %q, want flagged %v", name, got, c.flagged)
		}
		if c.flagged && !strings.Contains(got, "floor measure, void") {
			t.Errorf("%s: disturbed = %q, want it to name the measure and call it void", name, got)
		}
	}
}

func TestMedian(t *testing.T) {
	for name, c := range map[string]struct {
		xs   []float64
		want float64
	}{
		"an odd count gives the middle value":        {[]float64{3, 1, 2}, 2},
		"an even count gives the mean of the middle": {[]float64{4, 1, 3, 2}, 2.5},
		"one value is its own median":                {[]float64{7}, 7},
		"no values give zero":                        {nil, 0},
	} {
		if got := median(c.xs); got != c.want {
			t.Errorf("%s: median(%v) = %v, want %v", name, c.xs, got, c.want)
		}
	}
}
