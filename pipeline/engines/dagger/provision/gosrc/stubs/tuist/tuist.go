// Package tuist is a compile-only STUB of github.com/vito/tuist v0.0.6, written for
// Slipway's offline Dagger build: the module proxy refuses every version of
// github.com/vito/tuist. Dagger uses tuist only for its interactive TTY frontend
// (--progress=tty/report, the `dagger shell` prompt). With this stub the plain, dots
// and logs frontends are unaffected; the TTY frontend runs the work but draws nothing.
package tuist

import (
	"context"
	"errors"
	"io"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
)

var ErrStub = errors.New("tuist stub: the interactive TUI is not included in this dagger build; use --progress=plain")

type Context struct {
	context.Context
	Width  int
	Height int
}

func (c Context) Line(s string)           {}
func (c Context) Lines(s ...string)       {}
func (c Context) Resize(w, h int) Context { c.Width, c.Height = w, h; return c }
func (c Context) ScreenHeight() int       { return c.Height }
func (c Context) SetFocus(Component)      {}

type Component interface {
	Render(ctx Context)
}

type RenderResult struct {
	Lines []string
}

type Compo struct{}

func (c *Compo) Update()                                                  {}
func (c *Compo) RenderChild(ctx Context, child Component) string          { return "" }
func (c *Compo) RenderChildInline(ctx Context, child Component) string    { return "" }
func (c *Compo) RenderChildResult(ctx Context, child Component) RenderResult { return RenderResult{} }

type Interactive interface {
	HandleKeyPress(ctx Context, ev uv.KeyPressEvent) bool
}
type Focusable interface {
	SetFocused(ctx Context, focused bool)
}
type Mounter interface {
	OnMount(ctx Context)
}
type Dismounter interface {
	OnDismount()
}
type MouseEvent struct {
	uv.MouseEvent
	Row int
	Col int
}
type MouseEnabled interface {
	HandleMouse(ctx Context, ev MouseEvent) bool
}
type Hoverable interface {
	SetHovered(ctx Context, hovered bool)
}

type Container struct {
	Compo
	Children []Component
}

func (c *Container) AddChild(child Component) { c.Children = append(c.Children, child) }
func (c *Container) Render(ctx Context)       {}

type Spinner struct {
	Compo
	Epoch time.Time
}

func NewSpinner() *Spinner            { return &Spinner{} }
func (s *Spinner) Render(ctx Context) {}

type Completion struct {
	Label       string
	Detail      string
	Description string
}
type CompletionResult struct {
	Items       []Completion
	ReplaceFrom int
}

type TextInput struct {
	Compo
	Prompt         string
	OnSubmit       func(ctx Context, value string) bool
	KeyInterceptor func(ctx Context, ev uv.KeyPressEvent) bool
	value          string
}

func NewTextInput(prompt string) *TextInput { return &TextInput{} }
func (t *TextInput) Render(ctx Context)     {}
func (t *TextInput) Value() string          { return t.value }
func (t *TextInput) SetValue(v string)      { t.value = v }
func (t *TextInput) InsertRune(r rune)      {}

type CompletionMenu struct{ Compo }

func NewCompletionMenu(in *TextInput, f func(input string, cursorPos int) CompletionResult) *CompletionMenu {
	return &CompletionMenu{}
}
func (m *CompletionMenu) HandleKeyPress(ctx Context, ev uv.KeyPressEvent) bool { return false }

type Size struct{ abs int }

func SizeAbs(n int) Size { return Size{abs: n} }

type Anchor int

const AnchorTopRight Anchor = 1

type OverlayMargin struct{ Top, Right, Bottom, Left int }
type OverlayOptions struct {
	Width  Size
	Anchor Anchor
	Margin OverlayMargin
}
type OverlayHandle struct{}

func (h *OverlayHandle) Remove() {}

type Terminal interface{}

func NewStdTerminal() Terminal { return nil }

type TUI struct{ Container }

func New(t Terminal) *TUI { return &TUI{} }
func (t *TUI) RemoveChild(child Component) {
	for i, c := range t.Children {
		if c == child {
			t.Children = append(t.Children[:i:i], t.Children[i+1:]...)
			return
		}
	}
}
func (t *TUI) SetFocus(Component)           {}
func (t *TUI) SetShowHardwareCursor(bool)   {}
func (t *TUI) Dispatch(f func())            { f() }
func (t *TUI) Stop()                        {}
func (t *TUI) SetDebugWriter(w io.Writer)   {}
func (t *TUI) RequestRender(force bool)     {}
func (t *TUI) RenderLines() []string        { return nil }
func (t *TUI) ShowOverlay(c Component, o *OverlayOptions) *OverlayHandle { return &OverlayHandle{} }
func (t *TUI) Exec(f func(in io.Reader, out io.Writer, errOut io.Writer) error) error {
	return ErrStub
}

// Start draws nothing: it only mounts the children (dagger's pretty frontend
// starts its work in OnMount) and returns.
func (t *TUI) Start() error {
	ctx := Context{Context: context.Background(), Width: 80, Height: 24}
	for _, c := range t.Children {
		if m, ok := c.(Mounter); ok {
			m.OnMount(ctx)
		}
	}
	return nil
}
