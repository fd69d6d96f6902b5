#!/usr/bin/env python3
"""Writes tests/ops/fixtures/rnn_torch.txt: the lstm and gru ops' forward outputs and gradients computed
by PyTorch, for tests/ops/rnn_fixture_test.cpp (which needs no torch).

Weight mapping from TensorFlow 1.8 (what ops/rnn implements, SPEC §2.5/§3.4/§3.5) to PyTorch:
  LSTM. TF BasicLSTMCell: kernel [F+H, 4H], rows [x, h], column blocks (i, j, f, o), bias [4H],
        forget_bias 1.0 added to f inside the cell.
        torch.nn.LSTM: weight_ih [4H, F], weight_hh [4H, H], row blocks (i, f, g, o), bias_ih + bias_hh.
        So weight_ih = kernel[:F].T with blocks reordered (i, j, f, o) -> (i, f, j, o), weight_hh =
        kernel[F:].T likewise, bias_ih = bias reordered with 1.0 added to the f block, bias_hh = 0.
        The fixture runs nn.LSTM itself (packed sequences give dynamic_rnn's length semantics).
  GRU.  TF GRUCell: candidate = tanh([x, r*h]·Wc + bc): r multiplies h BEFORE the recurrent matmul.
        torch.nn.GRU computes n = tanh(W_in x + b_in + r*(W_hn h + b_hn)): r multiplies AFTER it, a
        different function, so nn.GRU cannot stand in. The fixture writes the TF cell with torch ops
        (r, u = sigmoid([x, h]·Wg + bg); h' = u*h + (1-u)*candidate) and lets torch.autograd take the
        gradients.
  Lengths (tf.nn.dynamic_rnn): steps t >= n keep the state and output 0; final state = state at n.
  reverse (bidirectional_dynamic_rnn's bw): x reversed within each length (tf.reverse_sequence), run,
  outputs reversed back the same way.

Each case: B=3, T=5, F=4, H=3, lengths (5, 2, 0), inputs uniform in [-1, 1) (weights [-0.6, 0.6),
GRU gate bias [0.5, 1.5)), float64, torch.manual_seed(0). The loss is sum(seq*Ws) + sum(h*Wh)
(+ sum(c*Wc) for LSTM) with fixed random Ws, Wh, Wc also written, and the gradients of x and every
weight are written. File format, one tensor per line: <case> <name> <dims,comma> <values...> (%.17g).

Usage: pip install torch; python3 tools/make_rnn_fixtures.py tests/ops/fixtures/rnn_torch.txt
"""
import sys

import torch

B, T, F, H = 3, 5, 4, 3
LENS = [5, 2, 0]


def reverse_in_length(x, lens):
    out = x.clone()
    for b, n in enumerate(lens):
        if n > 0:
            out[b, :n] = x[b, :n].flip(0)
    return out


def mask(lens):
    m = torch.zeros(B, T, 1, dtype=torch.float64)
    for b, n in enumerate(lens):
        m[b, :n] = 1
    return m


def run_lstm(x, kernel, bias, reverse):
    """nn.LSTM on each video's first n frames alone (dynamic_rnn's lengths), TF weights mapped."""
    lstm = torch.nn.LSTM(F, H, batch_first=True).double()

    def reorder(w):  # TF blocks (i, j, f, o) -> torch (i, f, g=j, o), along dim 0
        i, j, f, o = w.split(H, dim=0)
        return torch.cat([i, f, j, o], dim=0)

    forget = torch.cat([torch.zeros(2 * H), torch.ones(H), torch.zeros(H)]).double()
    params = {"weight_ih_l0": reorder(kernel[:F].t()), "weight_hh_l0": reorder(kernel[F:].t()),
              "bias_ih_l0": reorder(bias + forget),
              "bias_hh_l0": torch.zeros(4 * H, dtype=torch.float64)}
    seqs, hs, cs = [], [], []
    for b, n in enumerate(LENS):
        if n == 0:
            seqs.append(torch.zeros(T, H, dtype=torch.float64))
            hs.append(torch.zeros(H, dtype=torch.float64))
            cs.append(torch.zeros(H, dtype=torch.float64))
            continue
        xb = x[b:b + 1, :n]
        if reverse:
            xb = xb.flip(1)
        out, (hn, cn) = torch.func.functional_call(lstm, params, (xb,))
        if reverse:
            out = out.flip(1)
        seqs.append(torch.cat([out[0], torch.zeros(T - n, H, dtype=torch.float64)]))
        hs.append(hn[0, 0])
        cs.append(cn[0, 0])
    return torch.stack(seqs), torch.stack(hs), torch.stack(cs)


def run_gru(x, gk, gb, ck, cb, reverse):
    xin = reverse_in_length(x, LENS) if reverse else x
    h = torch.zeros(B, H, dtype=torch.float64)
    outs = []
    m = mask(LENS)
    for t in range(T):
        xt = xin[:, t]
        g = torch.sigmoid(torch.cat([xt, h], 1) @ gk + gb)
        r, u = g[:, :H], g[:, H:]
        cand = torch.tanh(torch.cat([xt, r * h], 1) @ ck + cb)
        hn = u * h + (1 - u) * cand
        h = m[:, t] * hn + (1 - m[:, t]) * h
        outs.append(m[:, t] * hn)
    seq = torch.stack(outs, 1)
    if reverse:
        seq = reverse_in_length(seq, LENS)
    return seq, h


def main(path):
    torch.manual_seed(0)
    lines = []

    def put(case, name, t):
        dims = ",".join(str(d) for d in t.shape)
        vals = " ".join("%.17g" % v for v in t.detach().reshape(-1).tolist())
        lines.append(f"{case} {name} {dims} {vals}")

    def u(*shape, lo=-1.0, hi=1.0):
        return (torch.rand(*shape, dtype=torch.float64) * (hi - lo) + lo).requires_grad_(True)

    for rev in (False, True):
        case = "lstm_reverse" if rev else "lstm"
        x, k, b = u(B, T, F), u(F + H, 4 * H, lo=-0.6, hi=0.6), u(4 * H, lo=-0.6, hi=0.6)
        ws, wh, wc = u(B, T, H), u(B, H), u(B, H)
        seq, h, c = run_lstm(x, k, b, rev)
        loss = (seq * ws).sum() + (h * wh).sum() + (c * wc).sum()
        loss.backward()
        for name, t in [("x", x), ("kernel", k), ("bias", b), ("w_seq", ws), ("w_h", wh),
                        ("w_c", wc), ("seq", seq), ("h", h), ("c", c), ("dx", x.grad),
                        ("dkernel", k.grad), ("dbias", b.grad)]:
            put(case, name, t)
    for rev in (False, True):
        case = "gru_reverse" if rev else "gru"
        x = u(B, T, F)
        gk, gb = u(F + H, 2 * H, lo=-0.6, hi=0.6), u(2 * H, lo=0.5, hi=1.5)
        ck, cb = u(F + H, H, lo=-0.6, hi=0.6), u(H, lo=-0.6, hi=0.6)
        ws, wh = u(B, T, H), u(B, H)
        seq, h = run_gru(x, gk, gb, ck, cb, rev)
        loss = (seq * ws).sum() + (h * wh).sum()
        loss.backward()
        for name, t in [("x", x), ("gates_kernel", gk), ("gates_bias", gb),
                        ("candidate_kernel", ck), ("candidate_bias", cb), ("w_seq", ws),
                        ("w_h", wh), ("seq", seq), ("h", h), ("dx", x.grad),
                        ("dgates_kernel", gk.grad), ("dgates_bias", gb.grad),
                        ("dcandidate_kernel", ck.grad), ("dcandidate_bias", cb.grad)]:
            put(case, name, t)
    with open(path, "w") as f:
        f.write("# written by tools/make_rnn_fixtures.py (torch %s); lengths %s\n"
                % (torch.__version__, ",".join(map(str, LENS))))
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
