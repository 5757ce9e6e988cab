// Package dangv2 is a STUB put in place by Slipway's offline engine build: the
// module github.com/vito/dang/v2 (every version tried, incl. v2.1.1 pinned by dagger
// v0.21.8) is refused by the module proxy, so Dang v2 modules (Dang SDK modules whose
// engineVersion is >= v0.21.5) cannot be evaluated by this engine. Dang v1 modules
// still work (core/sdk/dang/v1, github.com/vito/dang v1.0.1). Nothing else is affected.
package dangv2

import (
	"context"
	"errors"

	"github.com/dagger/dagger/core"
	"github.com/dagger/dagger/dagql"
)

// ErrUnavailable is returned for every Dang v2 operation.
var ErrUnavailable = errors.New("dang v2 SDK is not included in this engine build (github.com/vito/dang/v2 was unavailable when it was built)")

// Impl is the Dang v2 implementation behind the dang SDK's version dispatch.
type Impl struct{}

func (Impl) ModuleTypes(
	ctx context.Context,
	deps *core.SchemaBuilder,
	src dagql.ObjectResult[*core.ModuleSource],
	scopedMod dagql.ObjectResult[*core.Module],
) (inst dagql.ObjectResult[*core.Module], rerr error) {
	return inst, ErrUnavailable
}

func (Impl) Runtime(
	ctx context.Context,
	deps *core.SchemaBuilder,
	source dagql.ObjectResult[*core.ModuleSource],
) (core.ModuleRuntime, error) {
	return nil, ErrUnavailable
}
