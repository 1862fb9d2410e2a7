package dev.vllmrouter.discovery;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.SimRegistrar;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSpec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DiscoveryTest {
    static byte[] message(String type, String http, String zmq) {
        return SimRegistrar.message(type, http, zmq);
    }

    @Test
    void decodesVllmRegistrations() throws IOException {
        Registration r = Registration.decode(message("P", "10.0.0.5:20003", "10.0.0.5:21001"));
        assertThat(r).isEqualTo(new Registration("P", "10.0.0.5:20003", "10.0.0.5:21001"));
        assertThat(r.prefill()).isTrue();
    }

    @Test
    void refusesWhatIsNotARegistration() throws IOException {
        assertThatThrownBy(() -> Registration.decode(message("X", "h:1", "h:2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("type:");
        assertThatThrownBy(() -> Registration.decode(message("D", "no-port", "h:2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("http_address:");
        assertThatThrownBy(() -> Registration.decode("{\"type\":\"P\"}".getBytes()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Registration.decode(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void leasesExpireFiveSecondsAfterTheLastHeartbeat() {
        AtomicLong now = new AtomicLong();
        LeaseTable table = new LeaseTable(now::get, 5_000_000_000L);
        Registration p = new Registration("P", "10.0.0.5:20003", "10.0.0.5:21001");
        assertThat(table.register(p)).as("new engine").isTrue();
        now.addAndGet(3_000_000_000L);
        assertThat(table.register(p)).as("a heartbeat changes nothing").isFalse();
        now.addAndGet(4_999_999_999L);
        assertThat(table.expire()).isFalse();
        assertThat(table.workers()).extracting(WorkerSpec::role).containsExactly(Role.PREFILL);
        assertThat(table.workers().get(0).url().base()).isEqualTo("http://10.0.0.5:20003");
        assertThat(table.workers().get(0).zmqAddress()).isEqualTo("10.0.0.5:21001");
        now.addAndGet(1);
        assertThat(table.expire()).isTrue();
        assertThat(table.workers()).isEmpty();
        assertThat(table.register(new Registration("D", "10.0.0.5:20003", "10.0.0.5:21001"))).isTrue();
        assertThat(table.register(new Registration("P", "10.0.0.5:20003", "10.0.0.5:21001")))
                .as("a changed role is a change").isTrue();
    }

    @Test
    void moriioRegistrationsCarryTheirModeAndSizes() throws Exception {
        byte[] write = dev.vllmrouter.sim.SimRegistrar.moriioMessage("P", "10.0.0.5:8100",
                "host:10.0.0.5,handshake:6301,notify:61005", 2, 4, "WRITE");
        Registration r = Registration.decode(write);
        assertThat(r).isEqualTo(new Registration("P", "10.0.0.5:8100", "host:10.0.0.5,handshake:6301,notify:61005",
                "WRITE", 2, 4));
        assertThat(r.moriio()).isTrue();
        assertThatThrownBy(() -> Registration.decode(dev.vllmrouter.sim.SimRegistrar.moriioMessage("P", "h:1",
                "h:2", 1, 1, "WRITE"))).hasMessageStartingWith("zmq_address");
        assertThatThrownBy(() -> Registration.decode(dev.vllmrouter.sim.SimRegistrar.moriioMessage("P", "h:1",
                "host:h,handshake:1,notify:2", 1, 1, "PUSH"))).hasMessageStartingWith("transfer_mode");
        assertThatThrownBy(() -> Registration.decode(dev.vllmrouter.sim.SimRegistrar.moriioMessage("P", "h:1",
                "host:h,handshake:1,notify:2", 0, 1, "READ"))).hasMessageStartingWith("tp_size");
        assertThat(Registration.decode(message("P", "10.0.0.5:20003", "10.0.0.5:21001")).moriio())
                .as("P2P-NCCL").isFalse();
    }

    @Test
    void theFirstMoriioRegistrationFixesTheModeUntilEveryEngineExpired() {
        MoriioFleet fleet = new MoriioFleet();
        Registration write = new Registration("P", "10.0.0.5:8100", "host:10.0.0.5,handshake:1,notify:2", "WRITE",
                2, 4);
        Registration read = new Registration("D", "10.0.0.6:8100", "host:10.0.0.6,handshake:1,notify:2", "READ",
                1, 1);
        assertThat(fleet.view().mode()).as("no mode before a registration").isNull();
        assertThat(fleet.accepts(write)).isTrue();
        fleet.publish(java.util.List.of(write));
        assertThat(fleet.view().mode()).isEqualTo(MoriioFleet.Mode.WRITE);
        assertThat(fleet.view().engine("10.0.0.5:8100")).isEqualTo(new MoriioFleet.Engine(2, 4));
        assertThat(fleet.view().engine("10.0.0.9:1")).isEqualTo(MoriioFleet.Engine.DEFAULT);
        assertThat(fleet.accepts(read)).as("the other mode is dropped").isFalse();
        assertThat(fleet.accepts(new Registration("D", "h:1", "h:2"))).as("no mode: not MoRI-IO").isFalse();
        fleet.publish(java.util.List.of());
        assertThat(fleet.view().mode()).as("all expired: free again").isNull();
        assertThat(fleet.accepts(read)).isTrue();
    }
}
