package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/zgda/zgda/gpuinfo"
)

// WriteTable prints the report as an aligned table.
func WriteTable(w io.Writer, r *Report) error {
	m := r.Machine
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s/%s, %s, device: %s\n", m.CPUModel, m.CPUs, m.OS, m.Arch, m.GoVersion, m.Device)
	if len(m.GPUs) > 0 {
		fmt.Fprintf(w, "gpu: %s\n", gpuinfo.Summary(m.GPUs))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "suite\top\tsize\timpl\truns\tms/op\tMB/s\ttime vs anchor\t")
	for _, x := range r.Results {
		ratio := ""
		if x.AnchorFor != "" {
			ratio = fmt.Sprintf("%.2f× %s", x.VsAnchor, x.AnchorFor)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.2f\t%.2f\t%s\t\n", x.Suite, x.Op, x.Size, x.Impl, x.Runs, x.Seconds*1e3, x.MBps, ratio)
	}
	return tw.Flush()
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteSVG plots MB/s against payload size (log scale), one line per
// (op, impl), for the results that have more than one size.
func WriteSVG(w io.Writer, r *Report) error {
	type pt struct{ x, y float64 }
	series := map[string][]pt{}
	for _, x := range r.Results {
		if x.MBps > 0 && x.Bytes > 0 {
			k := x.Op + " · " + x.Impl
			series[k] = append(series[k], pt{math.Log2(float64(x.Bytes)), x.MBps})
		}
	}
	names := make([]string, 0, len(series))
	for k, v := range series {
		if len(v) > 1 {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("bench: nothing to plot (a plot needs one operation at several sizes, e.g. the encode suite)")
	}
	minX, maxX, maxY := math.Inf(1), math.Inf(-1), 0.0
	for _, k := range names {
		for _, p := range series[k] {
			minX, maxX, maxY = math.Min(minX, p.x), math.Max(maxX, p.x), math.Max(maxY, p.y)
		}
	}
	const W, H, L, B = 720.0, 420.0, 70.0, 50.0
	sx := func(x float64) float64 { return L + (x-minX)/math.Max(maxX-minX, 1)*(W-L-20) }
	sy := func(y float64) float64 { return H - B - y/(maxY*1.1)*(H-B-20) }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&sb, `<text x="%.0f" y="14">zgda throughput (MB/s) by payload size — %s, %d CPUs</text>`+"\n", L, escape(r.Machine.CPUModel), r.Machine.CPUs)
	fmt.Fprintf(&sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", L, H-B, W-20, H-B)
	fmt.Fprintf(&sb, `<line x1="%.0f" y1="20" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n", L, L, H-B)
	for e := math.Ceil(minX); e <= maxX; e++ {
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", sx(e), H-B+16, HumanSize(1<<int(e)))
	}
	for i := 0; i <= 4; i++ {
		y := maxY * 1.1 * float64(i) / 4
		fmt.Fprintf(&sb, `<text x="%.0f" y="%.1f" text-anchor="end">%.1f</text>`+"\n", L-6, sy(y)+4, y)
	}
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}
	for i, k := range names {
		pts := series[k]
		sort.Slice(pts, func(a, b int) bool { return pts[a].x < pts[b].x })
		var path strings.Builder
		for j, p := range pts {
			fmt.Fprintf(&path, "%s%.1f,%.1f ", map[bool]string{true: "M", false: "L"}[j == 0], sx(p.x), sy(p.y))
		}
		c := colors[i%len(colors)]
		fmt.Fprintf(&sb, `<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.TrimSpace(path.String()), c)
		fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n", L+10, 34+16*float64(i), c, escape(k))
	}
	sb.WriteString("</svg>\n")
	_, err := io.WriteString(w, sb.String())
	return err
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
