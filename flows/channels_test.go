package flows_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow/flows"
)

// TestChannels: the main flow's `channels` is the bundle's, each name at
// its position; a bundle that declares none runs on DefaultChannels.
func TestChannels(t *testing.T) {
	main := "flow: main\nmain: true\nchannels: [instagram, messenger]\nstart: a\nstates:\n  a: {say: [{text: hi}], end: true}\n"
	sub := "flow: sub\nstart: a\nstates:\n  a: {say: [{text: hi}], end: true}\n"
	b, err := flows.LoadFS(fstest.MapFS{"main.yaml": {Data: []byte(main)}, "sub.yaml": {Data: []byte(sub)}}, "main.yaml", "sub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := flows.ChannelNames(b.Channels); !slices.Equal(got, []string{"instagram", "messenger"}) {
		t.Fatalf("channels = %v", got)
	}
	if p := b.Channels[1].Pos; p.String() != "main.yaml:3:23" {
		t.Errorf("messenger at %s, want main.yaml:3:23", p)
	}
	b, err = flows.LoadFS(fstest.MapFS{"sub.yaml": {Data: []byte(sub)}}, "sub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if b.Channels != nil || !slices.Equal(flows.ChannelNames(b.Channels), []string{"instagram"}) {
		t.Errorf("undeclared: channels %v, names %v; want nil and [instagram]", b.Channels, flows.ChannelNames(b.Channels))
	}
}

// TestChannelsErrors: each mistake in `channels` is an error at its position.
func TestChannelsErrors(t *testing.T) {
	for _, tt := range []struct{ name, main, sub, want string }{
		{"empty", "channels: []\n", "", "main.yaml:2:11: channels: list at least one channel"},
		{"not a list", "channels: messenger\n", "", "main.yaml:2:11: channels must be a list"},
		{"twice", "channels: [messenger, messenger]\n", "", `main.yaml:2:23: channels: "messenger" is listed twice`},
		{"bad name", "channels: [Messenger]\n", "", `main.yaml:2:12: channels: "Messenger" is not a channel name`},
		{"sub-flow", "", "channels: [messenger]\n", "sub.yaml:2:11: channels: only the main flow (main) declares channels"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"main.yaml": {Data: []byte("flow: main\n" + tt.main + "main: true\nstart: a\nstates:\n  a: {say: [{text: hi}], end: true}\n")},
				"sub.yaml":  {Data: []byte("flow: sub\n" + tt.sub + "start: a\nstates:\n  a: {say: [{text: hi}], end: true}\n")},
			}
			_, err := flows.LoadFS(fsys, "main.yaml", "sub.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
