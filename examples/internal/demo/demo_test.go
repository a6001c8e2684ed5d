package demo

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-go/tollgate"
)

// TestUsers: every demo user's scopes are registered, the hashes verify,
// and the table shows each user.
func TestUsers(t *testing.T) {
	users, err := HashUsers(TestHasher{})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	PrintUsers(&out)
	for i, u := range Users {
		for _, s := range u.Scopes {
			if _, ok := Scopes[s]; !ok {
				t.Errorf("%s holds the unregistered scope %q", u.Name, s)
			}
		}
		got := users[i]
		if ok, _ := (TestHasher{}).Verify(got.PasswordHash, u.Password); !ok || got.Username != u.Name || got.Disabled != u.Disabled || !slices.Equal(got.Scopes, u.Scopes) {
			t.Errorf("HashUsers[%d] = %+v", i, got)
		}
		if !strings.Contains(out.String(), "  "+u.Name+" ") || !strings.Contains(out.String(), u.Password) {
			t.Errorf("the table lacks %s:\n%s", u.Name, out.String())
		}
	}
	if !strings.Contains(out.String(), "(disabled)") {
		t.Errorf("the table does not mark the disabled user:\n%s", out.String())
	}
	if ok, _ := (TestHasher{}).Verify([]byte("$2a$10$x"), "x"); ok {
		t.Error("TestHasher verifies a hash not its own")
	}
}

// TestCreateItem: the bounds of item creation.
func TestCreateItem(t *testing.T) {
	items := NewItems()
	post := func(body string) int {
		r := httptest.NewRequest("POST", "/items", strings.NewReader(body))
		r = r.WithContext(tollgate.NewContext(r.Context(), &tollgate.Principal{Username: "alice"}))
		rec := httptest.NewRecorder()
		items.Create(rec, r)
		return rec.Code
	}
	for body, want := range map[string]int{
		`{"name":"ok"}`: http.StatusCreated,
		`{"name":"` + strings.Repeat("é", 100) + `"}`: http.StatusCreated,
		`{"name":"` + strings.Repeat("é", 101) + `"}`: http.StatusBadRequest,
		`{"name":"tab\there"}`:                        http.StatusBadRequest,
		`{"name":"ok"}x`:                              http.StatusBadRequest,
		`not json`:                                    http.StatusBadRequest,
		strings.Repeat(" ", MaxItemBody+1):            http.StatusRequestEntityTooLarge,
	} {
		if got := post(body); got != want {
			t.Errorf("POST %.40q: %d, want %d", body, got, want)
		}
	}
	items.mu.Lock()
	for len(items.items) < MaxItemCount {
		items.items = append(items.items, Item{})
	}
	items.mu.Unlock()
	if got := post(`{"name":"one too many"}`); got != http.StatusServiceUnavailable {
		t.Errorf("POST past MaxItemCount: %d, want 503", got)
	}
}

// TestIssuerFor: the default issuer follows the listen address.
func TestIssuerFor(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8001": "http://127.0.0.1:8001",
		":8001":          "http://localhost:8001",
		"[::]:8080":      "http://localhost:8080",
		"[::1]:8080":     "http://[::1]:8080",
		"noport":         "http://noport",
	} {
		if got := IssuerFor(addr); got != want {
			t.Errorf("IssuerFor(%q) = %q, want %q", addr, got, want)
		}
	}
}
