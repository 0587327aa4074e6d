/* reelkit ABR for dash.js (v5): a custom quality rule whose decisions come from POST /v1/abr/decide.
 *
 * dash.js rules are synchronous, so the decision for chunk k+1 is fetched when chunk k has finished loading
 * (the FRAGMENT_LOADING_COMPLETED event, with a synchronous request to the local service, before dash.js
 * schedules the next segment); the rule then returns that cached decision. The first chunk is fetched at
 * level 1, as in Pensieve's simulator. Built-in rules are switched off and the buffer target is 60 s (the
 * simulator's cap). The player's own log (chunks, buffer, stalls) is kept in `controller.log` and posted
 * to the service (`cfg.logUrl`).
 *
 * Usage: ReelkitAbr.start(videoElement, cfg) with cfg = {sessionId, stream, algo, model, ladderKbps, segmentS,
 * segments, mpd, decideUrl, logUrl}; returns the controller (also window.reelkitAbr).
 */
(function () {
  'use strict';

  let active = null; // the controller whose decisions the rule returns

  function postSync(url, body) {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url, false); // synchronous on purpose: the next segment must wait for the decision
    xhr.setRequestHeader('Content-Type', 'application/json');
    xhr.send(JSON.stringify(body));
    if (xhr.status !== 200) {
      throw new Error('decide failed: HTTP ' + xhr.status + ' ' + xhr.responseText);
    }
    return JSON.parse(xhr.responseText);
  }

  // A level is its Representation's id: reelkit abr package numbers the video rungs 0.. from the lowest (as
  // the segment server's chunk-<level>-<n>.m4s). The MPD's bandwidth is what the segments need, container
  // included, so it is not the ladder's kbps.
  function levelOf(representation) {
    const id = representation ? Number(representation.id) : NaN;
    return Number.isInteger(id) && id >= 0 ? id : NaN;
  }

  function ReelkitRuleClass() {
    const context = this.context;
    const SwitchRequest = dashjs.FactoryMaker.getClassFactoryByName('SwitchRequest');

    function getSwitchRequest(rulesContext) {
      const request = SwitchRequest(context).create();
      if (!active || rulesContext.getMediaType() !== 'video') {
        return request;
      }
      const abr = rulesContext.getAbrController();
      const reps = abr.getPossibleVoRepresentations(rulesContext.getMediaInfo(), true)
        .slice()
        .sort(function (a, b) { return levelOf(a) - levelOf(b) || a.bandwidth - b.bandwidth; });
      if (!reps.length) {
        return request;
      }
      const level = Math.max(0, Math.min(active.level, reps.length - 1));
      request.representation = reps[level];
      request.priority = SwitchRequest.PRIORITY.STRONG;
      request.reason = { message: 'reelkit ' + active.algo + ' chose level ' + level };
      return request;
    }

    return { getSwitchRequest: getSwitchRequest, reset: function () {} };
  }
  ReelkitRuleClass.__dashjs_factory_name = 'ReelkitRule';

  function Controller(video, cfg) {
    this.cfg = cfg;
    this.algo = cfg.algo;
    this.level = Math.min(1, cfg.ladderKbps.length - 1);
    this.t0 = performance.now();
    this.log = [];
    this.chunks = [];
    this.decisions = [];
    this.errors = [];
    this.started = false;
    this.startupS = null;
    this.stalls = 0;
    this.stallS = 0;
    this.stallSince = null;
    this.stallAtChunk = 0; // total stall seconds when the last chunk finished
    this.ended = false;
    this.pending = [];
    this.video = video;
  }

  Controller.prototype.now = function () {
    return (performance.now() - this.t0) / 1000;
  };

  Controller.prototype.bufferS = function () {
    try {
      const b = this.player.getBufferLength('video');
      return isFinite(b) && b > 0 ? b : 0;
    } catch (e) {
      return 0;
    }
  };

  Controller.prototype.record = function (event) {
    this.log.push(event);
    this.pending.push(event);
  };

  Controller.prototype.flush = function () {
    if (!this.pending.length || !this.cfg.logUrl) {
      return;
    }
    const events = this.pending.splice(0, 1000);
    fetch(this.cfg.logUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: events }),
      keepalive: true,
    }).catch(function () {});
  };

  Controller.prototype.decide = function (body) {
    try {
      const out = postSync(this.cfg.decideUrl, body);
      this.level = out.level;
      this.algo = out.algo;
      this.decisions.push({ chunk_index: out.chunk_index, level: out.level });
    } catch (e) {
      this.errors.push(String(e)); // keep the last level
    }
  };

  Controller.prototype.stallTotal = function () {
    return this.stallS + (this.stallSince !== null ? this.now() - this.stallSince : 0);
  };

  Controller.prototype.onFragment = function (e) {
    const req = e.request;
    if (!req || req.mediaType !== 'video' || req.type !== 'MediaSegment') {
      return;
    }
    const index = req.index;
    if (e.error) {
      // dash.js fires this event for a failed download too: an error, not a chunk played (a 404's JSON body
      // was logged as a chunk of 98 bytes, and the next decision taken on it)
      const why = e.error.message || e.error.code || e.error;
      this.errors.push('chunk ' + index + ' failed: ' + String(why).slice(0, 300));
      return;
    }
    let level = levelOf(req.representation);
    if (!(level < this.cfg.ladderKbps.length)) {
      level = this.level;
    }
    const bytes = e.response && e.response.byteLength ? e.response.byteLength : req.bytesLoaded;
    const downloadS = req.endDate && req.startDate ? (req.endDate - req.startDate) / 1000 : NaN;
    const segS = isFinite(req.duration) && req.duration > 0 ? req.duration : this.cfg.segmentS;
    // the chunk is not appended yet: the buffer it leaves is what is buffered plus its own length
    const bufferS = this.bufferS() + segS;
    const total = this.stallTotal();
    const rebufferS = Math.max(0, total - this.stallAtChunk);
    this.stallAtChunk = total;
    const chunk = { kind: 'chunk', t_s: this.now(), chunk_index: index, level: level, bytes: bytes,
      download_s: downloadS, buffer_s: bufferS, stall_s: rebufferS };
    this.chunks.push(chunk);
    this.record(chunk);
    if (index + 1 < this.cfg.segments) {
      this.decide({
        session_id: this.cfg.sessionId, chunk_index: index + 1, last_chunk_bytes: bytes,
        download_s: isFinite(downloadS) ? downloadS : 0, buffer_s: bufferS, rebuffer_s: rebufferS,
        ladder_kbps: this.cfg.ladderKbps, last_level: level, algo: this.cfg.algo,
        chunk_s: this.cfg.segmentS, stream: this.cfg.stream, model: this.cfg.model || null,
      });
    }
    this.flush();
  };

  Controller.prototype.onWaiting = function () {
    if (this.started && this.stallSince === null && !this.ended) {
      this.stallSince = this.now();
      this.stalls += 1;
      this.record({ kind: 'stall', t_s: this.stallSince, buffer_s: this.bufferS() });
    }
  };

  Controller.prototype.onPlaying = function () {
    const t = this.now();
    if (!this.started) {
      this.started = true;
      this.startupS = t;
      this.record({ kind: 'play', t_s: t, stall_s: t });
    } else if (this.stallSince !== null) {
      const d = t - this.stallSince;
      this.stallS += d;
      this.stallSince = null;
      this.record({ kind: 'resume', t_s: t, stall_s: d });
    }
    this.flush();
  };

  function start(video, cfg) {
    if (typeof dashjs === 'undefined') {
      throw new Error('dash.js is not loaded');
    }
    const c = new Controller(video, cfg);
    active = c;
    c.decide({ session_id: cfg.sessionId, chunk_index: 0, ladder_kbps: cfg.ladderKbps, algo: cfg.algo,
      chunk_s: cfg.segmentS, stream: cfg.stream, model: cfg.model || null });
    const player = dashjs.MediaPlayer().create();
    c.player = player;
    const off = { active: false };
    player.updateSettings({
      debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING },
      streaming: {
        abr: {
          autoSwitchBitrate: { video: true, audio: true },
          initialBitrate: { video: cfg.ladderKbps[c.level], audio: -1 },
          rules: {
            throughputRule: off, bolaRule: off, insufficientBufferRule: off, switchHistoryRule: off,
            droppedFramesRule: off, abandonRequestsRule: off, l2ARule: off, loLPRule: off,
          },
        },
        buffer: {
          fastSwitchEnabled: false, bufferTimeDefault: 60, bufferTimeAtTopQuality: 60,
          bufferTimeAtTopQualityLongForm: 60, bufferToKeep: 60,
        },
      },
    });
    player.addABRCustomRule('qualitySwitchRules', 'ReelkitRule',
      dashjs.FactoryMaker.getClassFactory(ReelkitRuleClass));
    player.on(dashjs.MediaPlayer.events.FRAGMENT_LOADING_COMPLETED, function (e) { c.onFragment(e); });
    player.on(dashjs.MediaPlayer.events.ERROR, function (e) {
      c.errors.push('dash.js error: ' + JSON.stringify(e.error || e).slice(0, 300));
    });
    video.addEventListener('waiting', function () { c.onWaiting(); });
    video.addEventListener('playing', function () { c.onPlaying(); });
    video.addEventListener('ended', function () {
      c.ended = true;
      c.record({ kind: 'end', t_s: c.now() });
      c.flush();
    });
    video.muted = true;
    player.initialize(video, cfg.mpd, true);
    window.reelkitAbr = c;
    return c;
  }

  window.ReelkitAbr = { start: start };
})();
