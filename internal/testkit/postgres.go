package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresHowTo is the line a PostgreSQL test skips with when no server was given.
const PostgresHowTo = "PostgreSQL tests need a server: TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test ./pkg/store/postgres/"

// PostgresURL is the gate of every PostgreSQL test: TEST_DATABASE_URL, a server where the test may
// create databases. Unset, the test skips with one line saying how to run it, unless CI is
// "true": CI must never pass by skipping, so there an unset variable fails the test, and so does
// an unreachable server anywhere (a URL was given, so the tests were meant to run).
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_DATABASE_URL is unset: " + PostgresHowTo)
		}
		t.Skip(PostgresHowTo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: PostgreSQL unreachable: %v", err)
	}
	_ = conn.Close(ctx)
	return u
}

// FreshPostgres creates an empty database with a random name on TEST_DATABASE_URL's server (from
// template0, so nothing an operator added to template1 leaks in), drops it when the test ends,
// and returns its URL. Tests that share a server thus never see each other's rows. Register it
// before anything that connects to the database: cleanups run last-in first-out, so those close
// first and the database is dropped last (WITH (FORCE) ends any connection left over).
func FreshPostgres(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "storetest_" + hex.EncodeToString(b)
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(`CREATE DATABASE ` + name + ` TEMPLATE template0`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
