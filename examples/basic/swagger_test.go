package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tollgate-go/tollgate/examples/internal/browser"
)

// swaggerUI returns the swagger-ui-dist directory that npm ci installs
// below examples/basic, or skips t without it (fails it when
// TOLLGATE_REQUIRE_SERVERS is set, as .ci/run sets it after installing
// it).
func swaggerUI(t *testing.T) string {
	t.Helper()
	if installed(swaggerDist) {
		return swaggerDist
	}
	msg := "swagger-ui-dist not found in examples/basic/" + swaggerDist + ": npm ci --prefix examples/basic"
	if os.Getenv("TOLLGATE_REQUIRE_SERVERS") != "" {
		t.Fatal(msg + " (TOLLGATE_REQUIRE_SERVERS is set: missing files are a failure)")
	}
	t.Skip(msg)
	return ""
}

// consoleLog collects what the page writes to its console (CSP
// violations among it) while the test runs.
type consoleLog struct {
	mu   sync.Mutex
	msgs []string
}

func watchConsole(ctx context.Context) *consoleLog {
	l := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.msgs = append(l.msgs, m.String())
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *consoleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

// TestSwaggerUI logs in through Swagger UI's Authorize dialog with the
// password flow (RFC 6749 §4.3) in headless Chromium, exactly as a user
// does, then calls two operations from the page with "Try it out": GET
// /items (alice holds items:read) answers 200, GET /admin/users (she
// lacks admin:users) 403 insufficient_scope (RFC 6750 §3.1). The page
// runs under its Content-Security-Policy without a violation, and keeps
// the token out of localStorage (persistAuthorization off).
func TestSwaggerUI(t *testing.T) {
	s := newTestServer(t, []string{"-swagger-ui", swaggerUI(t)}, nil)
	ctx := browser.New(t, 90*time.Second)
	console := watchConsole(ctx)
	fail := func(step string, err error) {
		t.Helper()
		t.Fatalf("%s: %v\nconsole:\n%s\nserver log:\n%s", step, err, console, s.log)
	}

	modal := chromedp.CSS(".modal-ux")
	if err := chromedp.Do(ctx,
		// A desktop's window: headless Chromium's default is so small
		// that the dialog's buttons fall below it, out of a mouse's reach.
		chromedp.EmulateViewport(1280, 1024),
		chromedp.Navigate(s.srv.URL+"/docs"),
		chromedp.Click(chromedp.CSS("button.authorize"), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#oauth_username"), "alice", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#oauth_password"), "wonderland"),
	); err != nil {
		fail("authorize", err)
	}
	// The dialog holds a section per flow (password, and the client
	// credentials flow of confidential clients): authorize in the
	// password flow's, the one with the username field.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const b = document.querySelector("#oauth_username").closest(".auth-container").querySelector(".auth-btn-wrapper button.authorize");
		b.click();
		return true;
	})()`)); err != nil {
		fail("authorize", err)
	}
	// Authorized: the dialog offers Logout; refused: it shows the error.
	state, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const buttons = [...document.querySelectorAll(".modal-ux .auth-btn-wrapper button")];
		if (buttons.some(b => b.textContent.trim() === "Logout")) return "authorized";
		const e = document.querySelector(".modal-ux .errors");
		return e ? "error: " + e.textContent : false;
	})()`))
	if err != nil || state != "authorized" {
		fail("the password flow", fmtErr(state, err))
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".modal-ux button.btn-done")),
		chromedp.WaitNotPresent(modal),
	); err != nil {
		fail("close the dialog", err)
	}

	for _, tt := range []struct {
		op, status, body string
	}{
		{"get_items", "200", "Portal Gun"},
		{"get_admin_users", "403", "insufficient_scope"},
	} {
		op := "#operations-default-" + tt.op
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(op+" .opblock-summary-control"), chromedp.NodeVisible),
			chromedp.Click(chromedp.CSS(op+" button.try-out__btn"), chromedp.NodeVisible),
			chromedp.Click(chromedp.CSS(op+" button.execute"), chromedp.NodeVisible),
			chromedp.WaitVisible(chromedp.CSS(op+" .live-responses-table tr.response .response-col_status")),
		); err != nil {
			fail(tt.op, err)
		}
		status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table tr.response .response-col_status")))
		if err != nil {
			fail(tt.op, err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table tr.response .response-col_description")))
		if err != nil {
			fail(tt.op, err)
		}
		curl, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op+" .curl-command")))
		if err != nil {
			fail(tt.op, err)
		}
		// The status cell holds the code, then "Undocumented" for an
		// answer the document does not list.
		if code, _, _ := strings.Cut(strings.TrimSpace(status), "\n"); code != tt.status || strings.Contains(status, "Undocumented") || !strings.Contains(body, tt.body) {
			t.Errorf("%s from Swagger UI: status %q, body %q; want %s with %q", tt.op, status, body, tt.status, tt.body)
		}
		if !strings.Contains(curl, "Authorization: Bearer ey") {
			t.Errorf("%s: Swagger UI sent no bearer token; its curl command: %s", tt.op, curl)
		}
	}

	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.keys(localStorage))`))
	if err != nil || stored != "[]" {
		t.Errorf("localStorage keys = %s (%v), want none: persistAuthorization is off", stored, err)
	}
	if c := console.String(); strings.Contains(c, "Content Security Policy") || strings.Contains(c, "Refused to") {
		t.Errorf("the page broke its Content-Security-Policy:\n%s", c)
	}
}

// fmtErr is err, or the unexpected state when there is none.
func fmtErr(state string, err error) error {
	if err != nil {
		return err
	}
	return &stateError{state}
}

type stateError struct{ state string }

func (e *stateError) Error() string { return "the dialog says " + e.state }
