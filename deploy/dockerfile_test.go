package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case
	Args string
	Line int
}

// stage is one FROM ... [AS name] and its instructions.
type stage struct {
	Name, From string
	Instr      []instruction
}

var argRef = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// parseDockerfile reads the instructions of a Dockerfile into stages, with the global ARGs
// (those before the first FROM) expanded in the FROM lines. It is a checker's parser, enough for
// the instructions this Dockerfile uses: no heredocs, no escape directive.
func parseDockerfile(text string) (map[string]string, []stage, error) {
	var instrs []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" && cur.Len() == 0 {
			continue // comments (also inside a continuation) and blank lines
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		instrs = append(instrs, instruction{Cmd: strings.ToUpper(cmd), Args: strings.Join(strings.Fields(args), " "), Line: start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, nil, fmt.Errorf("line %d: continuation at the end of the file", start)
	}
	global := map[string]string{}
	var stages []stage
	for _, in := range instrs {
		switch {
		case in.Cmd == "ARG" && len(stages) == 0:
			k, v, _ := strings.Cut(in.Args, "=")
			global[k] = v
		case in.Cmd == "FROM":
			f := strings.Fields(argRef.ReplaceAllStringFunc(in.Args, func(ref string) string {
				m := argRef.FindStringSubmatch(ref)
				return global[m[1]+m[2]]
			}))
			s := stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.Name = f[2]
			} else if len(f) != 1 {
				return nil, nil, fmt.Errorf("line %d: FROM %s", in.Line, in.Args)
			}
			stages = append(stages, s)
		case len(stages) == 0:
			return nil, nil, fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
		default:
			stages[len(stages)-1].Instr = append(stages[len(stages)-1].Instr, in)
		}
	}
	return global, stages, nil
}

// chain returns the instructions that make a stage's image: its parent stages' first.
func chain(stages []stage, name string) []instruction {
	for _, s := range stages {
		if s.Name == name {
			return append(chain(stages, s.From), s.Instr...)
		}
	}
	return nil
}

// last returns the args of the last instruction cmd in instrs ("" when there is none).
func last(instrs []instruction, cmd string) string {
	v := ""
	for _, in := range instrs {
		if in.Cmd == cmd {
			v = in.Args
		}
	}
	return v
}

func all(instrs []instruction, cmd string) []string {
	var out []string
	for _, in := range instrs {
		if in.Cmd == cmd {
			out = append(out, in.Args)
		}
	}
	return out
}

func envVars(instrs []instruction) map[string]string {
	env := map[string]string{}
	for _, args := range all(instrs, "ENV") {
		for _, kv := range strings.Fields(args) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

func jsonArgs(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	require.NoError(t, json.Unmarshal([]byte(s), &out), "want the exec (JSON) form: %s", s)
	return out
}

// requireNonRoot checks a USER instruction names a numeric, non-zero uid (and gid): Kubernetes'
// runAsNonRoot can verify only a numeric user.
func requireNonRoot(t *testing.T, user, where string) {
	t.Helper()
	require.NotEmpty(t, user, "%s: no USER: it would run as root", where)
	for _, id := range strings.Split(user, ":") {
		n, err := strconv.Atoi(id)
		require.NoError(t, err, "%s: USER %s: use a numeric uid", where, user)
		require.NotZero(t, n, "%s: USER %s is root", where, user)
	}
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	global, stages, err := parseDockerfile(string(readFile(t, "Dockerfile")))
	require.NoError(t, err)
	byName := map[string]stage{}
	for _, s := range stages {
		byName[s.Name] = s
	}

	// Build: the Go release go.mod asks for, cgo on for go-sqlite3, all three programs.
	build := byName["build"]
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(readFile(t, "go.mod")))
	require.NotNil(t, goLine, "go.mod has no go directive")
	goMinor := goLine[1]
	require.Equal(t, "golang:"+goMinor+"-bookworm", build.From, "the builder's Go is go.mod's (ARG GO_VERSION=%s)", global["GO_VERSION"])
	require.Equal(t, "1", envVars(build.Instr)["CGO_ENABLED"], "mattn/go-sqlite3 needs cgo")
	var goBuild string
	for _, run := range all(build.Instr, "RUN") {
		if strings.Contains(run, "go build") {
			goBuild = run
		}
	}
	require.NotEmpty(t, goBuild, "no RUN go build")
	for _, want := range []string{"-trimpath", `-ldflags "-s -w"`, "./cmd/ingest", "./cmd/worker", "./cmd/ingestctl", "./deploy/healthcheck"} {
		require.Contains(t, goBuild, want)
		if strings.HasPrefix(want, "./") {
			_, err := os.Stat(repoPath(want, "main.go"))
			require.NoError(t, err, "%s is not a program", want)
		}
	}

	// The image: the last stage, so that `docker build .` builds it.
	final := stages[len(stages)-1]
	require.Equal(t, "pipeline", final.Name)
	img := chain(stages, final.Name)
	require.Equal(t, "runtime", final.From)
	require.Equal(t, "debian:bookworm-slim", byName["runtime"].From, "glibc for the cgo binaries, and small")
	requireNonRoot(t, last(img, "USER"), "pipeline image")
	require.Contains(t, all(img, "VOLUME"), `["/data"]`)
	env := envVars(img)
	require.Equal(t, "/data", env["DATA_DIR"])
	require.True(t, strings.HasPrefix(env["DATABASE_URL"], "/data/"), "a worker's SQLite file in the volume")
	exposed := strings.Fields(strings.Join(all(img, "EXPOSE"), " "))
	require.Contains(t, exposed, "8080")
	require.Contains(t, exposed, "9091")
	require.Equal(t, []string{"ingest"}, jsonArgs(t, last(img, "CMD")))
	copies := strings.Join(all(img, "COPY"), "\n")
	for _, bin := range []string{"/out/ingest", "/out/worker", "/out/ingestctl", "/out/healthcheck"} {
		require.Contains(t, copies, bin)
	}
	requireHealthcheck(t, img, "pipeline image")
	require.Contains(t, env["HEALTHCHECK_URL"], ":8080/readyz", "the default program is the ingest")

	// The exporter target: the same runtime (non-root, with the healthcheck), upstream binary.
	exp := chain(stages, "nats-exporter")
	require.NotEmpty(t, exp)
	requireNonRoot(t, last(exp, "USER"), "nats-exporter image")
	requireHealthcheck(t, exp, "nats-exporter image")
	require.Equal(t, []string{"/usr/local/bin/prometheus-nats-exporter"}, jsonArgs(t, last(exp, "ENTRYPOINT")))

	// Every build target docker-compose.yml names exists.
	p := loadCompose(t, false)
	for _, name := range p.ServiceNames() {
		if b := p.Services[name].Build; b != nil {
			require.Contains(t, byName, b.Target, "service %s builds target %q", name, b.Target)
		}
	}
}

// requireHealthcheck checks the image's HEALTHCHECK runs a program the image has.
func requireHealthcheck(t *testing.T, img []instruction, where string) {
	t.Helper()
	hc := last(img, "HEALTHCHECK")
	require.NotEmpty(t, hc, "%s: no HEALTHCHECK", where)
	_, cmd, ok := strings.Cut(hc, "CMD ")
	require.True(t, ok, "%s: HEALTHCHECK %s", where, hc)
	argv := jsonArgs(t, cmd)
	require.NotEmpty(t, argv)
	require.Contains(t, strings.Join(all(img, "COPY"), "\n"), argv[0], "%s: the healthcheck program %s is not copied in", where, argv[0])
}

// The build context keeps out secrets and VCS history, and keeps in what go build needs.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	var patterns []string
	for _, l := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	excluded := func(p string) bool {
		out := false
		for _, pat := range patterns {
			neg := strings.HasPrefix(pat, "!")
			pat = strings.TrimPrefix(pat, "!")
			// A pattern excludes a path or any directory above it; **/ matches at any depth.
			parts := strings.Split(p, "/")
			for i := 1; i <= len(parts); i++ {
				prefix := strings.Join(parts[:i], "/")
				m, _ := path.Match(pat, prefix)
				if sub, ok := strings.CutPrefix(pat, "**/"); ok {
					m2, _ := path.Match(sub, parts[i-1])
					m = m || m2
				}
				if m {
					out = !neg
				}
			}
		}
		return out
	}
	for _, p := range []string{".git/config", ".env", "data/leads.db"} {
		require.True(t, excluded(p), ".dockerignore should exclude %s", p)
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/ingest/main.go", "pkg/app/ingestapp/program.go", "pkg/mapping/default.yaml",
		"pkg/store/sqlite/migrate.go", "internal/testkit/doc.go", "proto-free-schemas/schemas/embed.go",
		"proto-free-schemas/schemas/envelope.schema.json", "deploy/healthcheck/main.go", "deploy/doc.go"} {
		require.False(t, excluded(p), ".dockerignore excludes %s, which the build needs", p)
		_, err := os.Stat(repoPath(p))
		require.NoError(t, err)
	}
}
