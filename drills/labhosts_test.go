//go:build drills

package drills_test

import (
	"net/netip"
	"strconv"

	"github.com/saleassist-pipeline/pipeline/drills"
	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// onLab puts every process the pipeline starts from now on onto a host of its own in the drills'
// hosts lab, when the lab can run here; otherwise (not root, no cgroup v1) the drill runs on
// loopback and says why in one line. Under CI=true a lab that cannot run fails the drill.
func (p *pipeline) onLab() {
	l, err := drills.NewLab(p.t)
	if l == nil {
		p.t.Logf("hosts lab: cannot run here (%v); this drill runs every process on loopback instead", err)
		return
	}
	p.lab = l
	p.logLab()
}

// requireLab is onLab for a drill that cuts hosts off: without the lab it skips saying why (fails
// under CI=true).
func (p *pipeline) requireLab() {
	p.lab = drills.RequireLab(p.t)
	p.logLab()
}

func (p *pipeline) logLab() {
	p.t.Logf("hosts lab: every process on a host of its own (network namespace %s-<host> on bridge %sbr, %s; no CPU quotas); the drill and its load at %s",
		drills.LabPrefix, drills.LabPrefix, drills.LabSubnet, p.lab.Gateway())
}

// place gives the process name its host and listen address: a new lab host and port on its
// address, or, without the lab, no host and the loopback address.
func (p *pipeline) place(name string, port int, loopback string) (*lab.Host, string) {
	if p.lab == nil {
		return nil, loopback
	}
	h, err := p.lab.AddHost(name, 0)
	if err != nil {
		p.t.Fatalf("hosts lab: %v", err)
	}
	return h, netip.AddrPortFrom(h.Addr, uint16(port)).String()
}

// hostsFor makes n hosts named prefix1 … prefixN.
func (p *pipeline) hostsFor(prefix string, n int) []*lab.Host {
	hs := make([]*lab.Host, n)
	for i := range hs {
		hs[i], _ = p.place(prefix+strconv.Itoa(i+1), 0, "")
	}
	return hs
}

// hostOf is the lab host a process runs on, by its listen address.
func (p *pipeline) hostOf(addr string) *lab.Host {
	p.t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err == nil && p.lab != nil {
		for _, h := range p.lab.Hosts() {
			if h.Addr == ap.Addr() {
				return h
			}
		}
	}
	p.t.Fatalf("no lab host at %s", addr)
	return nil
}
