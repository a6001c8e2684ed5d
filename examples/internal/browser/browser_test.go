package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestNewRendersAPage shows the browser starts and runs a page's script.
func TestNewRendersAPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><p id="out">static</p><script>document.getElementById("out").textContent = "scripted"</script></body></html>`)
	}))
	defer srv.Close()
	ctx := New(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#out")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "scripted" {
		t.Fatalf("page text %q, want %q", text, "scripted")
	}
}
