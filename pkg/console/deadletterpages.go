package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/saleassist-pipeline/pipeline/pkg/admin"
)

// The dead-letter pages: the list, one dead letter's edit-and-replay page, and the discarded
// ones. Actions are forms that post and redirect back (post/redirect/get, so a reload does not
// act again); a refused action shows the edit page again with the error at the top, focused,
// and the body as it was submitted.

func (s *Server) deadLettersPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.deadLetters(r.Context(), accountOf(r))
	d := pageData{Title: "Dead letters", Nav: "deadletters", Data: v, Flash: s.takeFlash(w, r)}
	if err != nil {
		d.Error = err.Message
	}
	s.render(w, r, http.StatusOK, "deadletters", d)
}

// editPageData is the edit-and-replay page of one dead letter.
type editPageData struct {
	deadLetterView
	// Text is what the textarea holds: the stored body, indented when it is JSON, or the body
	// last submitted.
	Text string
}

func (s *Server) deadLetterEditPage(w http.ResponseWriter, r *http.Request) {
	s.renderEdit(w, r, http.StatusOK, pathVar(r, "id"), nil, nil)
}

// renderEdit shows dead letter id's edit page with status, failure at the top (nil: none) and
// text in the textarea (nil: the stored body). A dead letter that is gone (or JetStream out of
// reach) shows the list with the error instead.
func (s *Server) renderEdit(w http.ResponseWriter, r *http.Request, status int, id string, failure *apiError, text *string) {
	v, err := s.deadLetter(r.Context(), accountOf(r), id)
	if err != nil {
		if failure == nil {
			failure = err
		}
		list, _ := s.deadLetters(r.Context(), accountOf(r))
		s.render(w, r, failure.Status, "deadletters", pageData{Title: "Dead letters", Nav: "deadletters", Data: list, Error: failure.Message})
		return
	}
	d := editPageData{deadLetterView: v, Text: indentJSON([]byte(v.Body))}
	if text != nil {
		d.Text = *text
	}
	p := pageData{Title: "Edit and replay dead letter " + id, Nav: "deadletters", Data: d}
	if failure != nil {
		p.Error = failure.Message
	}
	s.render(w, r, status, "deadletter", p)
}

// replayDeadLetterForm replays as it is, or with the form's body (Edit and replay), or unchanged
// on purpose (unchanged=1), then goes back to the list saying what happened.
func (s *Server) replayDeadLetterForm(w http.ResponseWriter, r *http.Request) {
	id := pathVar(r, "id")
	opts := admin.ReplayOptions{Unchanged: r.PostFormValue("unchanged") == "1"}
	var text *string
	if b, edited := r.PostForm["body"]; edited && !opts.Unchanged {
		body := strings.Join(b, "")
		opts.Body, text = []byte(body), &body
	}
	v, err := s.replayDeadLetter(r.Context(), accountOf(r), id, opts)
	if err != nil {
		s.renderEdit(w, r, err.Status, id, err, text)
		return
	}
	how := ""
	switch {
	case v.Corrected:
		how = " with the corrected body"
	case opts.Unchanged:
		how = " as it was"
	}
	s.setFlash(w, r, fmt.Sprintf("Replayed dead letter %d%s: event %s is back in the events stream.", v.Replayed.ID, how, v.Replayed.EventID))
	http.Redirect(w, r, "/deadletters", http.StatusSeeOther)
}

// discardDeadLetterForm discards with the form's reason; a refusal (no reason) shows the edit
// page, which has the discard form too.
func (s *Server) discardDeadLetterForm(w http.ResponseWriter, r *http.Request) {
	id := pathVar(r, "id")
	v, err := s.discardDeadLetter(r.Context(), accountOf(r), id, r.PostFormValue("reason"))
	if err != nil {
		s.renderEdit(w, r, err.Status, id, err, nil)
		return
	}
	s.setFlash(w, r, fmt.Sprintf("Discarded dead letter %d (event %s): %s. It is listed under Discarded.", v.Discarded.ID, v.Discarded.EventID, v.Discarded.DiscardReason))
	http.Redirect(w, r, "/deadletters", http.StatusSeeOther)
}

func (s *Server) discardedPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.discarded(r.Context(), accountOf(r))
	d := pageData{Title: "Discarded dead letters", Nav: "deadletters", Data: v}
	if err != nil {
		d.Error = err.Message
	}
	s.render(w, r, http.StatusOK, "discarded", d)
}
