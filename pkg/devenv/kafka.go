package devenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka is a one-broker Kafka-protocol cluster in this process (franz-go's
// kfake) on a loopback port, its state kept in a folder so that it can be
// restarted as a broker restarts.
type Kafka struct {
	// Addr is the broker's host:port.
	Addr    string
	dir     string
	cluster *kfake.Cluster
}

// StartKafka starts a broker with the topics (each with the given number
// of partitions), persisting to dir.
func StartKafka(dir string, partitions int32, topics ...string) (*Kafka, error) {
	k := &Kafka{dir: dir}
	if err := k.start(kfake.SeedTopics(partitions, topics...)); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Kafka) start(extra ...kfake.Opt) error {
	addr := k.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.DataDir(k.dir),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) })}, extra...)...)
	if err != nil {
		return fmt.Errorf("kafka broker: %w", err)
	}
	k.cluster, k.Addr = c, c.ListenAddrs()[0]
	return nil
}

// Restart stops the broker and starts it again on the same port with its
// persisted topics and messages.
func (k *Kafka) Restart() error {
	k.cluster.Close()
	return k.start()
}

// Stop stops the broker.
func (k *Kafka) Stop() { k.cluster.Close() }

// Kcat produces lines to topic with Debian's kcat, one message per line
// (partition -1: a random partition for each message).
func Kcat(ctx context.Context, addr, topic string, partition int, lines []string) error {
	f, err := os.CreateTemp("", "vigil-kcat-*.txt")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, KcatBinary, "-P", "-b", addr, "-t", topic, "-p", strconv.Itoa(partition), "-X", "partitioner=random", "-l", f.Name()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kcat -P -t %s: %v: %s", topic, err, out)
	}
	return nil
}

// KcatWriter is a kcat producing each line written to it as one message, as it comes.
type KcatWriter struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *os.File
}

// StartKcat starts kcat producing to topic (partition -1: any) from its input.
func StartKcat(addr, topic string, partition int) (*KcatWriter, error) {
	cmd := exec.Command(KcatBinary, "-P", "-b", addr, "-t", topic, "-p", strconv.Itoa(partition), "-X", "partitioner=random", "-X", "linger.ms=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	log, err := os.CreateTemp("", "vigil-kcat-*.log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &KcatWriter{cmd: cmd, stdin: in, log: log}, nil
}

// Line produces one message.
func (w *KcatWriter) Line(s string) error {
	if _, err := w.stdin.Write([]byte(s + "\n")); err != nil {
		out, _ := os.ReadFile(w.log.Name())
		return fmt.Errorf("kcat stopped: %v: %s", err, out)
	}
	return nil
}

// Close ends the input, so that kcat delivers what it holds and exits.
func (w *KcatWriter) Close() error {
	w.stdin.Close()
	err := w.cmd.Wait()
	defer os.Remove(w.log.Name())
	w.log.Close()
	if err != nil {
		out, _ := os.ReadFile(w.log.Name())
		return fmt.Errorf("kcat: %v: %s", err, out)
	}
	return nil
}
