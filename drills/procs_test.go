package drills

import (
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/saleassist-pipeline/pipeline/internal/lab"
)

// A process started on a lab host (StartOn) runs in the host's namespace and cgroup, as the
// user asked for, under its own pid (the wrappers exec it), and so does its restart; the lab's
// removal leaves nothing. (go test ./... runs this; it skips without the lab, and fails under
// CI=true.)
func TestStartOnRunsOnTheHost(t *testing.T) {
	if err := lab.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skipf("%v; run as root on a machine with cgroup v1 cpu and cpuacct to include the lab", err)
	}
	l, err := lab.New("sadrt", netip.MustParsePrefix("10.211.248.0/24"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	h, err := l.AddHost("one", 0)
	require.NoError(t, err)
	ps := NewProcs(t, t.TempDir())
	sleep := "/bin/sleep"
	if _, err := os.Stat(sleep); err != nil {
		sleep = "/usr/bin/sleep"
	}

	onHost := func(p *Proc) {
		t.Helper()
		pid := strconv.Itoa(p.Pid())
		// The wrappers (ip netns exec; nsenter, setpriv) exec the program under the same pid.
		require.Eventually(t, func() bool {
			c, err := os.ReadFile("/proc/" + pid + "/comm")
			return err == nil && strings.TrimSpace(string(c)) == "sleep"
		}, 5*time.Second, 10*time.Millisecond, "the pid is the program's own")
		var hostNS, procNS unix.Stat_t
		require.NoError(t, unix.Stat("/var/run/netns/"+h.NS, &hostNS))
		require.NoError(t, unix.Stat("/proc/"+pid+"/ns/net", &procNS))
		require.Equal(t, hostNS.Ino, procNS.Ino, "%s runs in the host's namespace", p.Name)
		b, err := os.ReadFile("/sys/fs/cgroup/cpuacct/sadrt/one/cgroup.procs")
		require.NoError(t, err)
		require.Contains(t, strings.Fields(string(b)), pid, "%s is in the host's cgroup", p.Name)
	}
	p := ps.StartOn(h, "sleeper", nil, sleep, nil, "600")
	onHost(p)
	p.Kill(t)
	p.Restart(t)
	onHost(p)

	u, err := user.Lookup("nobody")
	if err != nil {
		t.Logf("no user nobody: StartOn with credentials not checked (%v)", err)
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	as := ps.StartOn(h, "sleeper-as", &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, sleep, nil, "600")
	onHost(as)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(as.Pid()) + "/status")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^Uid:\s+`+u.Uid+`\s`, string(status), "runs as the user asked for")
}
