package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tollgate-go/tollgate"
)

// Limits of creating an item.
const (
	MaxItemBody  = 4 << 10
	MaxItemName  = 100
	MaxItemCount = 10_000 // the items live in memory
)

// An Item is what the items API serves.
type Item struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// Items is the items API's state: a bounded list in memory, seeded with
// two items.
type Items struct {
	mu     sync.Mutex
	items  []Item
	lastID int
}

// NewItems returns the seeded items.
func NewItems() *Items {
	s := &Items{items: []Item{
		{ID: 1, Name: "Portal Gun", Owner: "alice"},
		{ID: 2, Name: "Plumbus", Owner: "bob"},
	}}
	s.lastID = s.items[len(s.items)-1].ID
	return s
}

// List serves the items as a JSON array.
func (s *Items) List(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	items := slices.Clone(s.items)
	s.mu.Unlock()
	WriteJSON(w, http.StatusOK, items)
}

// Create serves a JSON object {"name": "..."} that becomes an item owned
// by the caller (behind RequireScopes): 201 with the item; 400 for a
// body that is not one such object or a name that is not 1 to
// MaxItemName characters of printable text; 413 past MaxItemBody bytes;
// 503 once MaxItemCount items are held.
func (s *Items) Create(w http.ResponseWriter, r *http.Request) {
	p, _ := tollgate.FromContext(r.Context())
	var in struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxItemBody))
	err := dec.Decode(&in)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is larger than %d bytes", MaxItemBody))
		return
	case err != nil:
		WriteError(w, http.StatusBadRequest, `The body must be one JSON object like {"name": "..."}`)
		return
	case !ValidName(in.Name):
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("name must be 1 to %d characters of text", MaxItemName))
		return
	}
	s.mu.Lock()
	if len(s.items) >= MaxItemCount {
		s.mu.Unlock()
		WriteError(w, http.StatusServiceUnavailable, "The demo holds no more items")
		return
	}
	s.lastID++
	it := Item{ID: s.lastID, Name: in.Name, Owner: p.Username}
	s.items = append(s.items, it)
	s.mu.Unlock()
	WriteJSON(w, http.StatusCreated, it)
}

// ValidName reports whether name is non-empty printable text of at most
// MaxItemName characters.
func ValidName(name string) bool {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxItemName {
		return false
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}
