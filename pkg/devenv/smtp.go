package devenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// SMTPServer is a real SMTP server on 127.0.0.1: Debian's python3-aiosmtpd
// with its Mailbox handler, which stores each message it accepts in a
// maildir (written to tmp/, then renamed into new/, so a message is seen
// whole or not at all).
type SMTPServer struct {
	// Addr is host:port, for Alertmanager's smtp_smarthost.
	Addr    string
	LogPath string
	maildir string
	proc    *process
}

// Email is one delivered message.
type Email struct {
	From     string
	To       []string
	Subject  string
	Date     time.Time
	Text     string // the text/plain part, decoded
	HTML     string // the text/html part, decoded
	Received time.Time
}

// StartSMTP starts the SMTP server with its maildir under dir.
func StartSMTP(ctx context.Context, dir string) (*SMTPServer, error) {
	if !exists(systemPython) {
		return nil, fmt.Errorf("%s is missing: apt-get install python3-aiosmtpd", systemPython)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &SMTPServer{Addr: loopback(port), LogPath: filepath.Join(dir, "smtpd.log"), maildir: filepath.Join(dir, "maildir")}
	// -n: no setuid to nobody when run as root (the maildir stays ours to read).
	p, err := startProcess(systemPython, []string{"-m", "aiosmtpd", "-n", "-l", s.Addr, "-c", "aiosmtpd.handlers.Mailbox", s.maildir},
		nil, s.LogPath)
	if err != nil {
		return nil, err
	}
	s.proc = p
	if err := waitSMTPBanner(ctx, s.Addr, p.exited, 30*time.Second); err != nil {
		p.stop(5 * time.Second)
		log, _ := os.ReadFile(s.LogPath)
		return nil, fmt.Errorf("aiosmtpd: %w (is python3-aiosmtpd installed? log: %s)", err, strings.TrimSpace(string(log)))
	}
	return s, nil
}

// waitSMTPBanner waits until the server greets a connection with 220.
func waitSMTPBanner(ctx context.Context, addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte("QUIT\r\n"))
			c.Close()
			if strings.HasPrefix(line, "220") {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited before %s greeted", addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not greet within %s", addr, timeout)
		}
	}
}

// Messages parses every message delivered so far, oldest first.
func (s *SMTPServer) Messages() ([]Email, error) {
	var out []Email
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(s.maildir, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			path := filepath.Join(s.maildir, sub, e.Name())
			raw, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			m, err := ParseEmail(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if info, err := e.Info(); err == nil {
				m.Received = info.ModTime()
			}
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out, nil
}

// ParseEmail decodes a message: encoded-word headers, and the text/plain and
// text/html parts of any (nested) multipart body, quoted-printable or base64.
func ParseEmail(raw []byte) (Email, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Email{}, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return Email{}, fmt.Errorf("subject: %w", err)
	}
	e := Email{Subject: subject, From: m.Header.Get("From")}
	if d, err := m.Header.Date(); err == nil {
		e.Date = d
	}
	if to := m.Header.Get("To"); to != "" {
		list, err := mail.ParseAddressList(to)
		if err != nil {
			return Email{}, fmt.Errorf("to: %w", err)
		}
		for _, a := range list {
			e.To = append(e.To, a.Address)
		}
	}
	if err := readPart(&e, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body); err != nil {
		return Email{}, err
	}
	return e, nil
}

func readPart(e *Email, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart() // raw: the transfer encoding is decoded here, for every type
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readPart(e, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	switch mediaType {
	case "text/plain":
		e.Text += string(b)
	case "text/html":
		e.HTML += string(b)
	}
	return nil
}

// Stop shuts the server down; the maildir stays.
func (s *SMTPServer) Stop() {
	if s.proc != nil {
		s.proc.stop(5 * time.Second)
	}
}
