// Package console is the operator's console: a JSON API and server-rendered pages over the
// leads store (store.Browser) and the pipeline's JetStream (admin.Ops, the operations ingestctl
// runs). Find a person, see every event that built the lead, export leads as CSV, replay dead
// letters and quarantined requests, see which fields events carry ("Get Schema") and preview a
// mapping against stored events.
//
// One handler layer serves both faces: each view is computed once (leads.go, ops.go,
// schema.go, …) and then written as JSON under /api/ or rendered with html/template, whose
// contextual escaping is the defence against markup in lead data (never template.HTML on data).
// The pages need no JavaScript: search, paging and replay are links and forms. Authentication and
// CSRF are one middleware (auth.go) in front of every route but /healthz, /metrics and /signin.
package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/saleassist-pipeline/pipeline/internal/ratelog"
	"github.com/saleassist-pipeline/pipeline/pkg/account"
	"github.com/saleassist-pipeline/pipeline/pkg/admin"
	"github.com/saleassist-pipeline/pipeline/pkg/mapping"
	"github.com/saleassist-pipeline/pipeline/pkg/store"
)

// Store is what the console reads from the leads store.
type Store interface {
	Lead(ctx context.Context, acct string, id int64) (*store.StoredLead, error)
	Event(ctx context.Context, acct, eventID string) (*store.StoredEvent, error)
	Counts(ctx context.Context, acct string) (store.Counts, error)
	store.Browser
}

// Config is what the console needs.
type Config struct {
	// Token is the admin token (see LoadToken); required. It sees every account.
	Token string
	// Accounts are the accounts, with their console tokens (each sees its own account only); nil
	// holds the default account alone.
	Accounts *account.Registry
	// Store holds the leads; required.
	Store Store
	// Ops are the JetStream operations; nil leaves dead letters, quarantine and consumer lag out.
	Ops *admin.Ops
	// DefaultRegion reads searched phone numbers without a country code, and previews mappings,
	// as the workers' DEFAULT_PHONE_REGION does; empty means "IN".
	DefaultRegion string
	// Zone is the operator's time zone (CONSOLE_TZ, see ParseZone): the pages show times in it,
	// with UTC on hover; the API is UTC whatever it is. nil is UTC.
	Zone *time.Location
	// Log receives errors, never tokens nor lead data; nil discards.
	Log *slog.Logger
	// Metrics is the registry the console's metrics join and its /metrics serves; nil: one of
	// its own.
	Metrics *prometheus.Registry
}

// Server is the console's HTTP handler.
type Server struct {
	store    Store
	ops      *admin.Ops
	accounts *account.Registry
	region   string
	mapper   *mapping.Mapper
	clock    clock
	auth     *auth
	log      *slog.Logger
	pages    *pages
	metrics  *metrics
	// signInLimit bounds sign-in attempts per client address; signInFailing logs refusals a few
	// lines at a time.
	signInLimit   *signInLimiter
	signInFailing *ratelog.Failing
	handler       http.Handler
}

// New returns the console for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Token == "" || cfg.Store == nil {
		return nil, errors.New("console: a token and a store are required")
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "IN"
	}
	mapper, err := mapping.NewMapper(cfg.DefaultRegion)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Zone == nil {
		cfg.Zone = time.UTC
	}
	p, err := loadPages(clock{cfg.Zone})
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	if cfg.Accounts == nil {
		cfg.Accounts = account.NewRegistry(account.Account{ID: account.Default})
	}
	s := &Server{store: cfg.Store, ops: cfg.Ops, accounts: cfg.Accounts, region: cfg.DefaultRegion, mapper: mapper, clock: clock{cfg.Zone},
		auth: newAuth(cfg.Token, cfg.Accounts), log: cfg.Log, pages: p, metrics: m,
		signInLimit: newSignInLimiter(SignInBurst, SignInEvery), signInFailing: &ratelog.Failing{Log: cfg.Log}}
	s.handler = securityHeaders(s.routes())
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes lays out the console: /healthz, /metrics and /signin open, everything else behind auth.require,
// unknown paths included (a 404 would otherwise tell a stranger which paths exist).
func (s *Server) routes() http.Handler {
	open := http.NewServeMux()
	open.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	open.Handle("GET /metrics", s.metrics.handler)
	open.HandleFunc("GET /signin", s.signInPage)
	open.HandleFunc("POST /signin", s.signIn)

	r := mux.NewRouter().UseEncodedPath() // event ids and types may hold '/' or spaces
	r.Use(s.checkInput, s.scope)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such page or API route; the API is under /api/ (see the README)")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "wrong method for this route: reads are GET, actions are POST")
	})
	api := &prefixed{r, "/api"}
	api.HandleFunc("/leads", s.apiLeads).Methods(http.MethodGet)
	api.HandleFunc("/leads.csv", s.apiLeadsCSV).Methods(http.MethodGet)
	api.HandleFunc("/leads/{id:[0-9]+}", s.apiLead).Methods(http.MethodGet)
	api.HandleFunc("/events/{event_id}", s.apiEvent).Methods(http.MethodGet)
	api.HandleFunc("/events", s.apiEvent).Methods(http.MethodGet) // ?id=, for "." and ".." (urls.go)
	api.HandleFunc("/deadletters", s.apiDeadLetters).Methods(http.MethodGet)
	api.HandleFunc("/deadletters/discarded", s.apiDiscarded).Methods(http.MethodGet)
	api.HandleFunc("/deadletters/{id:[0-9]+}", s.apiDeadLetter).Methods(http.MethodGet)
	api.HandleFunc("/deadletters/{id:[0-9]+}/replay", s.apiReplayDeadLetter).Methods(http.MethodPost)
	api.HandleFunc("/deadletters/{id:[0-9]+}/discard", s.apiDiscardDeadLetter).Methods(http.MethodPost)
	api.HandleFunc("/quarantine", s.apiQuarantine).Methods(http.MethodGet)
	api.HandleFunc("/quarantine/{id:[0-9]+}/replay", s.apiReplayQuarantined).Methods(http.MethodPost)
	api.HandleFunc("/schema", s.apiEventTypes).Methods(http.MethodGet)
	api.HandleFunc("/schema/{event_type}", s.apiSchema).Methods(http.MethodGet)
	api.HandleFunc("/schema/{event_type}/mapping.yaml", s.apiStarterMapping).Methods(http.MethodGet)
	api.HandleFunc("/mapping.yaml", s.apiStarterMapping).Methods(http.MethodGet) // ?event_type=
	api.HandleFunc("/mapping/preview", s.apiPreview).Methods(http.MethodPost)
	api.HandleFunc("/stats", s.apiStats).Methods(http.MethodGet)
	api.HandleFunc("/accounts", s.apiAccounts).Methods(http.MethodGet)

	r.HandleFunc("/", s.leadsPage).Methods(http.MethodGet)
	r.HandleFunc("/leads/{id:[0-9]+}", s.leadPage).Methods(http.MethodGet)
	r.HandleFunc("/events/{event_id}", s.eventPage).Methods(http.MethodGet)
	r.HandleFunc("/events", s.eventPage).Methods(http.MethodGet) // ?id=
	r.HandleFunc("/deadletters", s.deadLettersPage).Methods(http.MethodGet)
	r.HandleFunc("/deadletters/discarded", s.discardedPage).Methods(http.MethodGet)
	r.HandleFunc("/deadletters/{id:[0-9]+}", s.deadLetterEditPage).Methods(http.MethodGet)
	r.HandleFunc("/deadletters/{id:[0-9]+}/replay", s.replayDeadLetterForm).Methods(http.MethodPost)
	r.HandleFunc("/deadletters/{id:[0-9]+}/discard", s.discardDeadLetterForm).Methods(http.MethodPost)
	r.HandleFunc("/quarantine", s.quarantinePage).Methods(http.MethodGet)
	r.HandleFunc("/quarantine/{id:[0-9]+}/replay", s.replayQuarantinedForm).Methods(http.MethodPost)
	r.HandleFunc("/schema", s.schemaPage).Methods(http.MethodGet)
	r.HandleFunc("/schema/{event_type}", s.schemaPage).Methods(http.MethodGet)
	r.HandleFunc("/schema/{event_type}/preview", s.previewForm).Methods(http.MethodPost)
	r.HandleFunc("/schema", s.previewForm).Methods(http.MethodPost) // ?type=
	r.HandleFunc("/stats", s.statsPage).Methods(http.MethodGet)
	r.HandleFunc("/signout", s.signOut).Methods(http.MethodPost)
	r.HandleFunc("/account", s.switchAccount).Methods(http.MethodPost)
	protected := s.auth.require(r)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "/healthz" || p == "/signin" || p == "/metrics" {
			open.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// securityHeaders keeps every answer out of caches and frames, and forbids every script: the
// pages have none, so markup that slipped into a page still could not run.
func securityHeaders(next http.Handler) http.Handler {
	csp := "default-src 'none'; style-src " + styleHash + "; img-src 'self' data:; form-action 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// pathVar returns the route variable name, unescaped (the router keeps paths encoded).
func pathVar(r *http.Request, name string) string {
	v := mux.Vars(r)[name]
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return strings.TrimSpace(v)
}

// prefixed registers routes under a path prefix on the router itself: a gorilla subrouter would
// answer 404 instead of 405 for a known path with the wrong method.
type prefixed struct {
	r      *mux.Router
	prefix string
}

func (p *prefixed) HandleFunc(path string, f http.HandlerFunc) *mux.Route {
	return p.r.HandleFunc(p.prefix+path, f)
}
