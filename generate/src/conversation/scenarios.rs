//! The kinds of conversation: an inbound call (through the IVR to a queue; abandoned, flowed out
//! to voicemail, or answered and maybe transferred, consulted or conferenced), an outbound call,
//! a callback, and a chat, message or email.

use super::{
    CUSTOMERS, Conv, Customer, Handled, Part, QueueExit, Scenario, Seg, Sess, VOICEMAIL_OFFER_MS,
    met, set_last,
};
use crate::numerics::{Rng, fmt_time, mix64};
use crate::universe::{
    CAMPAIGNS, FLOW_CHAT, FLOW_EMAIL, FLOW_MESSAGE, INTENTS, QUEUES, WRAP_NO_ANSWER,
    WRAP_WRONG_NUMBER,
};
use crate::{HOUR, MIN, SALT_DECLINE, SALT_QUEUE_EXIT, SEC};

impl Conv<'_> {
    // --- scenarios ---------------------------------------------------------------------------

    pub(super) fn inbound_voice(&mut self, t0: i64) {
        let queue = self.u.pick_queue(&mut self.rng, "voice");
        self.division = self.u.queue_meta[queue].division;
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let tel = cust.tel();
        let dnis = format!("tel:{}", self.u.division_numbers[self.division]);
        let load = self.g.load(t0);

        let t1 = t0 + self.lognormal(40.0 * SEC as f64, 0.45, 8 * SEC, 5 * MIN);
        let abandon = self.rng.chance(0.02 + 0.07 * load);
        let wait = if abandon {
            self.lognormal(50.0 * SEC as f64, 0.8, 3 * SEC, 20 * MIN)
        } else {
            2 * SEC + self.exponential((15.0 + 45.0 * load) * SEC as f64, 0, 30 * MIN)
        };
        // Of the callers who give up, one in six hangs up at the queue's greeting (a short
        // abandon), and one who would have waited past the in-queue flow's voicemail offer
        // takes it (a flow-out). Drawn from the entry time, not from the stream, so that the
        // rest of the conversation stays as it was.
        let h = mix64(t1 as u64 ^ SALT_QUEUE_EXIT);
        let wait = if abandon && h % 6 == 0 {
            2 * SEC + ((h >> 8) % (8 * SEC as u64)) as i64
        } else {
            wait
        };
        let flow_out = abandon && wait > VOICEMAIL_OFFER_MS;
        let wait = if flow_out { VOICEMAIL_OFFER_MS } else { wait };
        let t2 = t1 + wait;

        let mut customer = self.customer_participant(&cust, "customer");
        let intents = INTENTS[self.division];
        let intent = intents[self.rng.index(intents.len())];
        customer.fields.push((
            "attributes",
            serde_json::json!({"ivr.intent": intent, "ivr.language": "en-us"}),
        ));
        let mut cs = self.session("voice", "inbound");
        self.voice_fields(&mut cs, &tel, &dnis);
        cs.set("remote", cust.name.clone());
        cs.set("protocolCallId", self.hex(32));
        let ivr = self.flow_participant(
            self.division,
            "voice",
            &cs.id,
            t0,
            t1,
            queue,
            Some((&tel, &dnis)),
        );
        cs.set("peerId", ivr.sessions[0].id.clone());
        self.root.push(("selfServed", false.into()));

        if abandon {
            let exit = if flow_out {
                QueueExit::FlowedOut
            } else {
                QueueExit::Abandoned
            };
            let acd = self.acd_participant(
                queue,
                "voice",
                "inbound",
                &cs.id,
                t1,
                t2,
                exit,
                Some((&tel, &dnis)),
            );
            let mut end = t2;
            let mut parts = vec![acd];
            if flow_out {
                end = t2 + 15 * SEC + ((h >> 16) % (90 * SEC as u64)) as i64;
                let mut vm = self.participant("voicemail", "Voicemail".to_owned());
                let mut s = self.session("voice", "inbound");
                self.voice_fields(&mut s, &tel, &dnis);
                s.set("peerId", cs.id.clone());
                s.segments
                    .push(Seg::new("interact", t2, end).with("disconnectType", "peer"));
                s.metrics.push(met("tVoicemail", end - t2, end));
                vm.sessions.push(s);
                parts.push(vm);
            }
            cs.segments = self.customer_session_segments(t0, end, &[], None, "endpoint");
            self.add_voice_stat(&mut cs);
            customer.sessions.push(cs);
            self.parts.extend([customer, ivr]);
            self.parts.extend(parts);
            return;
        }

        let agent = self.u.pick_agent(&mut self.rng, self.division, None);
        let acd = self.acd_participant(
            queue,
            "voice",
            "inbound",
            &cs.id,
            t1,
            t2,
            QueueExit::Answered(agent),
            Some((&tel, &dnis)),
        );
        let mut parts = vec![acd];

        // Sometimes a first agent lets it ring out.
        if wait > 25 * SEC && self.rng.chance(0.05) {
            let other = self.u.pick_agent(&mut self.rng, self.division, Some(agent));
            let mut p = self.agent_participant(other);
            let mut s = self.session("voice", "inbound");
            self.voice_fields(&mut s, &tel, &dnis);
            s.set("peerId", cs.id.clone());
            let a0 = t1 + self.rng.between(0, wait - 20 * SEC);
            // One in four declines rather than letting it ring out (drawn from the alert time,
            // not from the stream, so that the rest of the conversation stays as it was).
            let h = mix64(a0 as u64 ^ SALT_DECLINE);
            let (disconnect, ring) = if h % 4 == 0 {
                ("client", 2 * SEC + ((h >> 8) % (8 * SEC as u64)) as i64)
            } else {
                ("noAnswerTransfer", 15 * SEC)
            };
            let segs = vec![Seg::new("alert", a0, a0 + ring).with("disconnectType", disconnect)];
            let s = self.agent_session(other, s, segs, Some(queue), Some(t1));
            p.sessions.push(s);
            parts.push(p);
        }

        let scenario = [
            Scenario::Normal,
            Scenario::Blind,
            Scenario::Consult,
            Scenario::Conference,
        ][self.rng.weighted(&[87, 6, 4, 3])];
        let alert = self.alert_ms(true).min(wait - 200);
        let talk = self.talk_ms(agent, 210.0, 0.6, 90 * MIN);
        let holds = self.hold_count();
        let (mut a_segs, mut cust_holds, t3) = self.talk_phase(t2, talk, holds);
        a_segs.insert(0, Seg::new("alert", t2 - alert, t2));

        let mut pa = self.agent_participant(agent);
        let mut sa = self.session("voice", "inbound");
        self.voice_fields(&mut sa, &tel, &dnis);
        sa.set("peerId", cs.id.clone());
        sa.set("remote", cust.name.clone());
        sa.set("recording", true);
        let (agent_disconnect, customer_disconnect) = self.hang_up();
        let mut conference = None;
        let mut final_agent = agent;
        let end;
        let mut extra_metrics = Vec::new();
        let mut later: Vec<Part> = Vec::new();

        match scenario {
            Scenario::Normal => {
                set_last(&mut a_segs, "interact", "disconnectType", agent_disconnect);
                let w = self.wrapup(t3, "voice", None);
                a_segs.push(w);
                end = t3;
            }
            Scenario::Blind => {
                set_last(&mut a_segs, "interact", "disconnectType", "transfer");
                extra_metrics.push(met("nTransferred", 1, t3));
                extra_metrics.push(met("nBlindTransferred", 1, t3));
                let w = self.wrapup(t3, "voice", None);
                a_segs.push(w);
                let q2 = self.u.transfer_queue(&mut self.rng, queue, "voice");
                let b = self.u.pick_agent(&mut self.rng, self.division, Some(agent));
                let t4 = t3 + 2 * SEC + self.exponential(30.0 * SEC as f64, 0, 15 * MIN);
                let acd2 = self.acd_participant(
                    q2,
                    "voice",
                    "inbound",
                    &cs.id,
                    t3,
                    t4,
                    QueueExit::Answered(b),
                    Some((&tel, &dnis)),
                );
                later.push(acd2);
                let alert2 = self.alert_ms(true).min(t4 - t3);
                let talk2 = self.talk_ms(b, 150.0, 0.6, 60 * MIN);
                let holds2 = usize::from(self.rng.chance(0.15));
                let (mut b_segs, holds_b, t5) = self.talk_phase(t4, talk2, holds2);
                b_segs.insert(0, Seg::new("alert", t4 - alert2, t4));
                set_last(&mut b_segs, "interact", "disconnectType", agent_disconnect);
                let w = self.wrapup(t5, "voice", None);
                b_segs.push(w);
                cust_holds.extend(holds_b);
                let pb = self.second_agent(b, &cs.id, &cust, &tel, &dnis, b_segs, q2, Some(t3));
                later.push(pb);
                final_agent = b;
                end = t5;
            }
            Scenario::Consult | Scenario::Conference => {
                let tc = t3;
                let b = self.u.pick_agent(&mut self.rng, self.division, Some(agent));
                let tb0 = tc + self.rng.between(2 * SEC, 5 * SEC);
                let tb = tb0 + self.alert_ms(true);
                let consult = self.rng.between(15 * SEC, 90 * SEC);
                let tx = tb + consult;
                extra_metrics.push(met("nConsult", 1, tc));
                let b_session_id = self.rng.uuid();
                let mut b_segs = vec![
                    Seg::new("alert", tb0, tb)
                        .with("sourceConversationId", self.id.clone())
                        .with("sourceSessionId", sa.id.clone()),
                ];
                let talk2 = self.talk_ms(b, 150.0, 0.6, 60 * MIN);
                if scenario == Scenario::Consult {
                    a_segs.push(
                        Seg::new("hold", tc, tx)
                            .with("disconnectType", "consultTransfer")
                            .with("destinationConversationId", self.id.clone())
                            .with("destinationSessionId", b_session_id.clone()),
                    );
                    extra_metrics.push(met("nTransferred", 1, tx));
                    extra_metrics.push(met("nConsultTransferred", 1, tx));
                    let w = self.wrapup(tx, "voice", None);
                    a_segs.push(w);
                    let t5 = tx + talk2;
                    b_segs.push(
                        Seg::new("interact", tb, t5).with("disconnectType", agent_disconnect),
                    );
                    let w = self.wrapup(t5, "voice", None);
                    b_segs.push(w);
                    cust_holds.push((tc, tx));
                    end = t5;
                } else {
                    let tl = tx + self.rng.between(30 * SEC, 5 * MIN);
                    a_segs.push(Seg::new("hold", tc, tx));
                    a_segs.push(
                        Seg::new("interact", tx, tl)
                            .with("conference", true)
                            .with("disconnectType", "conferenceTransfer")
                            .with("destinationConversationId", self.id.clone())
                            .with("destinationSessionId", b_session_id.clone()),
                    );
                    let w = self.wrapup(tl, "voice", None);
                    a_segs.push(w);
                    let t5 = tl + talk2;
                    b_segs.push(Seg::new("interact", tb, tx));
                    b_segs.push(Seg::new("interact", tx, tl).with("conference", true));
                    b_segs.push(
                        Seg::new("interact", tl, t5).with("disconnectType", agent_disconnect),
                    );
                    let w = self.wrapup(t5, "voice", None);
                    b_segs.push(w);
                    cust_holds.push((tc, tx));
                    conference = Some((tx, tl));
                    end = t5;
                }
                let mut pb = self.second_agent(b, &cs.id, &cust, &tel, &dnis, b_segs, queue, None);
                pb.sessions[0].id = b_session_id;
                later.push(pb);
                final_agent = b;
            }
        }
        let mut sa = self.agent_session(agent, sa, a_segs, Some(queue), Some(t1));
        sa.metrics.extend(extra_metrics);
        self.add_voice_stat(&mut sa);
        pa.sessions.push(sa);
        parts.push(pa);
        parts.extend(later);

        cs.segments =
            self.customer_session_segments(t0, end, &cust_holds, conference, customer_disconnect);
        self.add_voice_stat(&mut cs);
        customer.sessions.push(cs);
        self.parts.push(customer);
        self.parts.push(ivr);
        self.parts.extend(parts);
        self.handled = Some(Handled {
            agent: final_agent,
            queue: Some(queue),
            voice: true,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn second_agent(
        &mut self,
        agent: usize,
        peer: &str,
        cust: &Customer,
        tel: &str,
        dnis: &str,
        segments: Vec<Seg>,
        queue: usize,
        queue_entry: Option<i64>,
    ) -> Part {
        let mut p = self.agent_participant(agent);
        let mut s = self.session("voice", "inbound");
        self.voice_fields(&mut s, tel, dnis);
        s.set("peerId", peer);
        s.set("remote", cust.name.clone());
        s.set("recording", true);
        let mut s = self.agent_session(agent, s, segments, Some(queue), queue_entry);
        self.add_voice_stat(&mut s);
        p.sessions.push(s);
        p
    }

    pub(super) fn outbound_voice(&mut self, t0: i64) {
        let campaign = self
            .rng
            .chance(0.4)
            .then(|| self.rng.index(CAMPAIGNS.len()));
        let (agent, queue) = match campaign {
            Some(c) => {
                let queue = CAMPAIGNS[c].1;
                self.division = self.u.queue_meta[queue].division;
                (
                    self.u.pick_agent(&mut self.rng, self.division, None),
                    Some(queue),
                )
            }
            None => {
                let agent = self.rng.index(self.u.agents.len());
                self.division = self.u.agent_meta[agent].division;
                let queue = self.rng.chance(0.5).then(|| {
                    let own: Vec<usize> = QUEUES
                        .iter()
                        .enumerate()
                        .filter(|(_, q)| q.division == self.division && q.media.contains(&"voice"))
                        .map(|(i, _)| i)
                        .collect();
                    own[self.rng.index(own.len())]
                });
                (agent, queue)
            }
        };
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let tel = cust.tel();
        let caller = format!("tel:{}", self.u.division_numbers[self.division]);
        let purpose = if campaign.is_some() {
            "customer"
        } else {
            "external"
        };
        let mut customer = self.customer_participant(&cust, purpose);
        let mut pa = self.agent_participant(agent);
        let mut sa = self.session("voice", "outbound");
        let mut cs = self.session("voice", "outbound");
        self.voice_fields(&mut sa, &caller, &tel);
        self.voice_fields(&mut cs, &caller, &tel);
        sa.set("remote", cust.name.clone());
        sa.set("peerId", cs.id.clone());
        sa.set("recording", true);
        cs.set("peerId", sa.id.clone());
        cs.set("protocolCallId", self.hex(32));
        if let Some(c) = campaign {
            let camp = &self.u.campaigns[c];
            let contact = format!("{:016x}", mix64(cust.index ^ c as u64));
            for s in [&mut sa, &mut cs] {
                s.set("outboundCampaignId", camp.id.clone());
                s.set("outboundContactListId", camp.contact_list_id.clone());
                s.set("outboundContactId", contact.clone());
            }
            sa.set("skipEnabled", true);
        }
        let td = t0 + self.rng.between(SEC, 3 * SEC);
        let tcn = td + self.rng.between(4 * SEC, 30 * SEC);
        let connected = self.rng.chance(if campaign.is_some() { 0.72 } else { 0.8 });
        let mut segs = vec![Seg::new("dialing", t0, td), Seg::new("contacting", td, tcn)];
        let mut extra = vec![met("nOutbound", 1, t0)];
        if campaign.is_some() {
            extra.push(met("nOutboundAttempted", 1, t0));
        }
        if connected {
            if campaign.is_some() {
                extra.push(met("nOutboundConnected", 1, tcn));
            }
            let talk = self.talk_ms(agent, 170.0, 0.7, 60 * MIN);
            let holds = usize::from(self.rng.chance(0.1));
            let (talk_segs, holds, t3) = self.talk_phase(tcn, talk, holds);
            segs.extend(talk_segs);
            let (agent_disconnect, customer_disconnect) = self.hang_up();
            set_last(&mut segs, "interact", "disconnectType", agent_disconnect);
            let w = self.wrapup(t3, "voice", None);
            segs.push(w);
            let mut c_segs = vec![Seg::new("alert", td, tcn)];
            c_segs.extend(self.customer_session_segments(
                tcn,
                t3,
                &holds,
                None,
                customer_disconnect,
            ));
            cs.segments = c_segs;
            self.handled = Some(Handled {
                agent,
                queue,
                voice: true,
            });
        } else {
            let busy = self.rng.chance(0.3);
            let (agent_disconnect, sip, q850) = if busy {
                ("peer", 486, 17)
            } else {
                ("client", 487, 16)
            };
            set_last(&mut segs, "contacting", "disconnectType", agent_disconnect);
            let code = if self.rng.chance(0.85) {
                WRAP_NO_ANSWER
            } else {
                WRAP_WRONG_NUMBER
            };
            let w = self.wrapup(tcn, "voice", Some(self.u.wrap_up_codes[code].id.clone()));
            segs.push(w);
            cs.segments = vec![
                Seg::new("alert", td, tcn)
                    .with("disconnectType", if busy { "endpoint" } else { "peer" })
                    .with("sipResponseCodes", vec![sip])
                    .with("q850ResponseCodes", vec![q850]),
            ];
        }
        let mut sa = self.agent_session(agent, sa, segs, queue, None);
        sa.metrics.extend(extra);
        if connected {
            self.add_voice_stat(&mut sa);
            self.add_voice_stat(&mut cs);
        }
        pa.sessions.push(sa);
        customer.sessions.push(cs);
        self.parts.push(pa);
        self.parts.push(customer);
    }

    pub(super) fn callback(&mut self, t0: i64) {
        let queue = self.u.pick_queue(&mut self.rng, "callback");
        self.division = self.u.queue_meta[queue].division;
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let tel = cust.tel();
        let caller = format!("tel:{}", self.u.division_numbers[self.division]);
        let load = self.g.load(t0);
        let ts = if self.rng.chance(0.25) {
            let later = t0 + self.rng.between(15 * MIN, 4 * HOUR);
            later.div_euclid(15 * MIN) * 15 * MIN + 15 * MIN
        } else {
            t0
        };
        let t2 = ts + 5 * SEC + self.exponential((240.0 + 360.0 * load) * SEC as f64, 0, 2 * HOUR);
        let agent = self.u.pick_agent(&mut self.rng, self.division, None);

        let mut customer = self.customer_participant(&cust, "customer");
        let mut cs = self.session("callback", "outbound");
        let callback_fields = |s: &mut Sess| {
            s.set("callbackNumbers", vec![cust.number.clone()]);
            s.set("callbackUserName", cust.name.clone());
            s.set("callbackScheduledTime", fmt_time(ts));
        };
        callback_fields(&mut cs);
        let acd = self.acd_participant(
            queue,
            "callback",
            "outbound",
            &cs.id,
            ts,
            t2,
            QueueExit::Answered(agent),
            None,
        );
        cs.set("peerId", acd.sessions[0].id.clone());

        let mut pa = self.agent_participant(agent);
        let mut sa = self.session("callback", "outbound");
        callback_fields(&mut sa);
        sa.set("peerId", cs.id.clone());
        sa.set("dnis", tel.clone());
        sa.set("ani", caller);
        sa.set("remote", cust.name.clone());
        sa.set("timeoutSeconds", 30 * self.rng.below(3) as i64);
        if self.rng.chance(0.1) {
            sa.set("agentOwned", true);
        }
        let alert = self.alert_ms(true).min(t2 - ts);
        let td = t2 + self.rng.between(SEC, 4 * SEC);
        let tcn = td + self.rng.between(4 * SEC, 25 * SEC);
        let mut segs = vec![
            Seg::new("alert", t2 - alert, t2),
            Seg::new("dialing", t2, td),
            Seg::new("contacting", td, tcn),
        ];
        let talk = self.talk_ms(agent, 200.0, 0.6, 60 * MIN);
        let holds = self.hold_count().min(1);
        let (talk_segs, holds, t3) = self.talk_phase(tcn, talk, holds);
        segs.extend(talk_segs);
        let (agent_disconnect, customer_disconnect) = self.hang_up();
        set_last(&mut segs, "interact", "disconnectType", agent_disconnect);
        let w = self.wrapup(t3, "callback", None);
        segs.push(w);
        let mut sa = self.agent_session(agent, sa, segs, Some(queue), Some(ts));
        sa.metrics.push(met("nOutbound", 1, t2));

        let mut c_segs = Vec::new();
        if ts > t0 {
            c_segs.push(Seg::new("scheduled", t0, ts));
        }
        c_segs.extend(self.customer_session_segments(ts, t3, &holds, None, customer_disconnect));
        cs.segments = c_segs;
        pa.sessions.push(sa);
        customer.sessions.push(cs);
        self.parts.extend([customer, acd, pa]);
        self.handled = Some(Handled {
            agent,
            queue: Some(queue),
            voice: true,
        });
    }

    pub(super) fn digital(&mut self, t0: i64, media: &'static str) {
        let queue = self.u.pick_queue(&mut self.rng, media);
        self.division = self.u.queue_meta[queue].division;
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let load = self.g.load(t0);
        let flow = match media {
            "chat" => FLOW_CHAT,
            "message" => FLOW_MESSAGE,
            _ => FLOW_EMAIL,
        };
        let t1 = t0 + self.rng.between(400, 3 * SEC);
        let abandon = match media {
            "chat" => self.rng.chance(0.02 + 0.05 * load),
            "message" => self.rng.chance(0.02),
            _ => false,
        };
        let wait = match (media, abandon) {
            ("email", _) => self.lognormal(90.0 * MIN as f64, 0.9, MIN, 20 * HOUR),
            ("chat", true) => self.lognormal(90.0 * SEC as f64, 0.7, 5 * SEC, 30 * MIN),
            ("chat", false) => {
                3 * SEC + self.exponential((20.0 + 60.0 * load) * SEC as f64, 0, 30 * MIN)
            }
            (_, true) => self.lognormal(10.0 * MIN as f64, 0.8, 30 * SEC, 4 * HOUR),
            _ => 5 * SEC + self.exponential((60.0 + 180.0 * load) * SEC as f64, 0, 2 * HOUR),
        };
        let t2 = t1 + wait;
        let mailbox = self.u.division_mailboxes[self.division].clone();
        let subject = format!(
            "{} - case {}",
            INTENTS[self.division][self.rng.index(INTENTS[self.division].len())],
            100_000 + self.rng.below(900_000)
        );

        let mut customer = self.customer_participant(&cust, "customer");
        let mut cs = self.session(media, "inbound");
        let message_type = [
            "sms",
            "webmessaging",
            "webmessaging",
            "whatsapp",
            "facebook",
            "sms",
        ][self.rng.index(6)];
        let company_number = self.u.division_numbers[self.division].clone();
        let media_fields = |s: &mut Sess, rng: &mut Rng| match media {
            "chat" => {
                s.set("provider", "PureCloud Webchat v2");
                s.set("remote", cust.name.clone());
            }
            "message" => {
                s.set("provider", "PureCloud Messaging");
                s.set("messageType", message_type);
                match message_type {
                    "sms" | "whatsapp" => {
                        s.set("addressFrom", cust.number.clone());
                        s.set("addressTo", company_number.clone());
                    }
                    "facebook" => {
                        s.set(
                            "addressFrom",
                            (10u64.pow(15) + rng.below(9 * 10u64.pow(15))).to_string(),
                        );
                    }
                    _ => {}
                }
                s.set("remote", cust.name.clone());
            }
            _ => {
                s.set("provider", "PureCloud Email");
                s.set("addressFrom", cust.email.clone());
                s.set("addressTo", mailbox.clone());
                s.set("remote", cust.email.clone());
            }
        };
        media_fields(&mut cs, &mut self.rng);
        if media == "chat" {
            cs.set(
                "roomId",
                format!("{}@conference.contoso.example", self.hex(24)),
            );
        }
        if media == "message" {
            self.root.push(("customerParticipation", true.into()));
            if self.rng.chance(0.1) {
                cs.set("mediaCount", 1 + self.rng.below(3) as i64);
            }
        }
        let wf = self.flow_participant(flow, media, &cs.id, t0, t1, queue, None);
        cs.set("peerId", wf.sessions[0].id.clone());
        let subject_of = |seg: Seg| {
            if media == "email" {
                seg.with("subject", subject.clone())
            } else {
                seg
            }
        };

        if abandon {
            let acd = self.acd_participant(
                queue,
                media,
                "inbound",
                &cs.id,
                t1,
                t2,
                QueueExit::Abandoned,
                None,
            );
            cs.segments = vec![subject_of(
                Seg::new("interact", t0, t2).with("disconnectType", "endpoint"),
            )];
            customer.sessions.push(cs);
            self.parts.extend([customer, wf, acd]);
            return;
        }
        let agent = self.u.pick_agent(&mut self.rng, self.division, None);
        let acd = self.acd_participant(
            queue,
            media,
            "inbound",
            &cs.id,
            t1,
            t2,
            QueueExit::Answered(agent),
            None,
        );
        let alert = self.alert_ms(false).min(wait - 200);
        let talk = match media {
            "chat" => self.talk_ms(agent, 540.0, 0.5, 2 * HOUR),
            "message" => self.talk_ms(agent, 720.0, 0.7, 4 * HOUR),
            _ => self.talk_ms(agent, 360.0, 0.6, 2 * HOUR),
        };
        let t3 = t2 + talk;
        let (agent_disconnect, customer_disconnect) = match media {
            "email" => ("client", "peer"),
            _ => self.hang_up(),
        };
        let mut pa = self.agent_participant(agent);
        let mut sa = self.session(media, "inbound");
        media_fields(&mut sa, &mut self.rng);
        sa.set("peerId", cs.id.clone());
        if media == "email" {
            sa.set("addressSelf", mailbox.clone());
            sa.set("addressOther", cust.email.clone());
        }
        let mut segs = vec![
            Seg::new("alert", t2 - alert, t2),
            subject_of(Seg::new("interact", t2, t3).with("disconnectType", agent_disconnect)),
        ];
        let w = self.wrapup(t3, media, None);
        segs.push(w);
        let sa = self.agent_session(agent, sa, segs, Some(queue), Some(t1));
        pa.sessions.push(sa);
        cs.segments = vec![subject_of(
            Seg::new("interact", t0, t3).with("disconnectType", customer_disconnect),
        )];
        customer.sessions.push(cs);
        self.parts.extend([customer, wf, acd, pa]);
        self.handled = Some(Handled {
            agent,
            queue: Some(queue),
            voice: false,
        });
    }
}
