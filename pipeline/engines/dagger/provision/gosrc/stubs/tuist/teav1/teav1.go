// Package teav1 is a compile-only STUB of github.com/vito/tuist/teav1 (see tuist).
package teav1

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/vito/tuist"
)

type Wrap struct {
	tuist.Compo
	Model tea.Model
}

func New(m tea.Model) *Wrap              { return &Wrap{Model: m} }
func (w *Wrap) Render(ctx tuist.Context) {}
func (w *Wrap) OnQuit(f func())          {}
